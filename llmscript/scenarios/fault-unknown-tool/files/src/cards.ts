export interface Card {
  question: string
  answer: string
}

export const DECK: Card[] = [
  { question: 'What is the capital of Australia?', answer: 'Canberra' },
  { question: 'How many bones are in the adult human body?', answer: '206' },
  { question: 'What gas do plants absorb from the air?', answer: 'Carbon dioxide' },
  { question: 'Who wrote "Pride and Prejudice"?', answer: 'Jane Austen' },
  { question: 'What is the largest planet in the solar system?', answer: 'Jupiter' },
  { question: 'In which year did the first person walk on the Moon?', answer: '1969' },
]

/** shuffled returns a copy of cards in random order. */
export function shuffled<T>(cards: T[]): T[] {
  const out = [...cards]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}
