interface LogoProps {
  size?: number
}

export default function Logo({ size = 28 }: LogoProps) {
  return (
    <svg viewBox="0 0 32 32" width={size} height={size} aria-hidden="true" className="logo">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <path d="M9 22 16 8l7 14h-4l-3-6-3 6z" fill="var(--accent-contrast)" />
    </svg>
  )
}
