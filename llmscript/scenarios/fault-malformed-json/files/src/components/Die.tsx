// Pip positions on a 3×3 grid for each face, numbered 0–8 row by row.
const PIPS: Record<number, number[]> = {
  1: [4],
  2: [0, 8],
  3: [0, 4, 8],
  4: [0, 2, 6, 8],
  5: [0, 2, 4, 6, 8],
  6: [0, 2, 3, 5, 6, 8],
}

interface DieProps {
  value: number
  rolling: boolean
}

export default function Die({ value, rolling }: DieProps) {
  const pips = PIPS[value] ?? []
  return (
    <div className={rolling ? 'die rolling' : 'die'} role="img" aria-label={`Die showing ${value}`}>
      {Array.from({ length: 9 }, (_, cell) => (
        <span key={cell} className={pips.includes(cell) ? 'pip' : 'pip empty'} />
      ))}
    </div>
  )
}
