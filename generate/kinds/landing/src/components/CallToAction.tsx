import { useState } from 'react'

export default function CallToAction() {
  const [email, setEmail] = useState('')
  const [joined, setJoined] = useState(false)

  return (
    <section className="cta" id="signup" aria-labelledby="cta-title">
      <div className="container cta-inner">
        <h2 id="cta-title">Be the first to know</h2>
        <p>Leave your email and we'll tell you when there's news.</p>
        {joined ? (
          <p className="cta-thanks" role="status">
            Thanks! We'll be in touch at {email}.
          </p>
        ) : (
          <form
            className="cta-form"
            onSubmit={(event) => {
              event.preventDefault()
              // This page has no backend: connect the form to your mailing list provider.
              setJoined(true)
            }}
          >
            <label htmlFor="cta-email" className="sr-only">
              Email address
            </label>
            <input
              id="cta-email"
              type="email"
              required
              placeholder="you@example.com"
              autoComplete="email"
              value={email}
              onChange={(event) => setEmail(event.target.value)}
            />
            <button type="submit">Notify me</button>
          </form>
        )}
      </div>
    </section>
  )
}
