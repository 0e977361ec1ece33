import type { ReactNode } from 'react'

interface FeatureCardProps {
  icon: ReactNode
  title: string
  children: ReactNode
}

export default function FeatureCard({ icon, title, children }: FeatureCardProps) {
  return (
    <article className="feature">
      <div className="feature-icon" aria-hidden="true">
        {icon}
      </div>
      <h3>{title}</h3>
      <p className="muted">{children}</p>
    </article>
  )
}
