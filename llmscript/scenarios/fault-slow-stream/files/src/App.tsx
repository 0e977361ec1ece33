import { useState } from 'react'
import './App.css'
import { textStats } from './stats'

export default function App() {
  const [text, setText] = useState('')
  const stats = textStats(text)
  const items: [string, number | string][] = [
    ['Words', stats.words],
    ['Characters', stats.characters],
    ['Without spaces', stats.charactersNoSpaces],
    ['Sentences', stats.sentences],
    ['Paragraphs', stats.paragraphs],
    ['Reading time', stats.words === 0 ? '—' : `${stats.readingMinutes} min`],
  ]

  return (
    <main className="page word-counter">
      <h1>Word Counter</h1>
      <label htmlFor="text" className="sr-only">
        Your text
      </label>
      <textarea
        id="text"
        rows={12}
        value={text}
        onChange={(event) => setText(event.target.value)}
        placeholder="Paste or type your text here…"
      />
      <dl className="stats" aria-live="polite">
        {items.map(([label, value]) => (
          <div key={label} className="stat">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <button type="button" className="clear" onClick={() => setText('')} disabled={text === ''}>
        Clear
      </button>
    </main>
  )
}
