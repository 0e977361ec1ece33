interface HeroProps {
  name: string
  tagline: string
}

export default function Hero({ name, tagline }: HeroProps) {
  return (
    <section className="hero" id="top" aria-labelledby="hero-title">
      <div className="container">
        <p className="eyebrow">Welcome to</p>
        <h1 id="hero-title">{name}</h1>
        <p className="lead">{tagline}</p>
        <div className="hero-actions">
          <a className="button" href="#signup">
            Get started
          </a>
          <a className="button ghost" href="#features">
            Learn more
          </a>
        </div>
      </div>
    </section>
  )
}
