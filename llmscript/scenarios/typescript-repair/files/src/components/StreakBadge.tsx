interface StreakBadgeProps {
  label: string
  active: boolean
}

export default function StreakBadge({ label, active }: StreakBadgeProps) {
  return (
    <span className={active ? 'streak-badge active' : 'streak-badge'} title="Current streak">
      <span aria-hidden="true">🔥</span> {label}
    </span>
  )
}
