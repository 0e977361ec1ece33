import { useState } from 'react'
import './App.css'
import Flashcard from './components/Flashcard'
import { DECK, shuffled } from './cards'

export default function App() {
  const [deck, setDeck] = useState(() => shuffled(DECK))
  const [index, setIndex] = useState(0)
  const [flipped, setFlipped] = useState(false)
  const [known, setKnown] = useState(0)
  const done = index >= deck.length

  function next(knewIt: boolean) {
    if (knewIt) setKnown((n) => n + 1)
    setFlipped(false)
    setIndex((i) => i + 1)
  }

  function restart() {
    setDeck(shuffled(DECK))
    setIndex(0)
    setKnown(0)
    setFlipped(false)
  }

  return (
    <main className="page quiz-app">
      <h1>Flashcard Quiz</h1>
      {done ? (
        <section className="quiz-summary">
          <p>
            You knew <strong>{known}</strong> of {deck.length} cards.
          </p>
          <button type="button" onClick={restart}>
            Play again
          </button>
        </section>
      ) : (
        <>
          <p className="muted">
            Card {index + 1} of {deck.length}
          </p>
          <Flashcard card={deck[index]} flipped={flipped} onFlip={() => setFlipped((f) => !f)} />
          <div className="quiz-actions">
            <button type="button" className="secondary" onClick={() => next(false)} disabled={!flipped}>
              Didn't know
            </button>
            <button type="button" onClick={() => next(true)} disabled={!flipped}>
              Knew it
            </button>
          </div>
        </>
      )}
    </main>
  )
}
