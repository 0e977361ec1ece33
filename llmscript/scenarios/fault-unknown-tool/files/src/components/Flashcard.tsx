import type { Card } from '../cards'

interface FlashcardProps {
  card: Card
  flipped: boolean
  onFlip: () => void
}

export default function Flashcard({ card, flipped, onFlip }: FlashcardProps) {
  return (
    <button type="button" className={flipped ? 'flashcard flipped' : 'flashcard'} onClick={onFlip} aria-live="polite">
      <span className="flashcard-side">{flipped ? card.answer : card.question}</span>
      <span className="flashcard-hint muted">{flipped ? 'Answer' : 'Click to reveal the answer'}</span>
    </button>
  )
}
