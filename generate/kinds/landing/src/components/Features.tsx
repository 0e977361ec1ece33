import FeatureCard from './FeatureCard'

interface FeaturesProps {
  name: string
}

function Icon({ d }: { d: string }) {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" fill="none">
      <path d={d} stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  )
}

export default function Features({ name }: FeaturesProps) {
  return (
    <section className="features" id="features" aria-labelledby="features-title">
      <div className="container">
        <h2 id="features-title">Why {name}?</h2>
        <p className="section-lead muted">Everything you need, and nothing you don't.</p>
        <div className="feature-grid">
          <FeatureCard icon={<Icon d="M13 2 4 14h7l-1 8 9-12h-7z" />} title="Quick to start">
            Up and running in minutes, with nothing to install and nothing new to learn.
          </FeatureCard>
          <FeatureCard icon={<Icon d="M12 3 4 6v6c0 5 3.5 8 8 9 4.5-1 8-4 8-9V6z" />} title="Dependable">
            Built to work the same way every day, so you can focus on what matters.
          </FeatureCard>
          <FeatureCard
            icon={<Icon d="M4 5h16v11H8l-4 4zM8 9h8M8 12h5" />}
            title="Real people, real help"
          >
            Questions answered by a friendly team that knows {name} inside out.
          </FeatureCard>
        </div>
      </div>
    </section>
  )
}
