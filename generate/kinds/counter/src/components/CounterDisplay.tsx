interface CounterDisplayProps {
  count: number
}

export default function CounterDisplay({ count }: CounterDisplayProps) {
  return (
    <output className="count" aria-live="polite" aria-label={`Count: ${count}`}>
      {count.toLocaleString()}
    </output>
  )
}
