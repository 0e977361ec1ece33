import { useState } from 'react'
import './App.css'
import { generate, strength } from './password'
import type { Options } from './password'

const KINDS: [keyof Omit<Options, 'length'>, string][] = [
  ['lower', 'Lower case'],
  ['upper', 'Upper case'],
  ['digits', 'Digits'],
  ['symbols', 'Symbols'],
]

export default function App() {
  const [options, setOptions] = useState<Options>({ length: 16, lower: true, upper: true, digits: true, symbols: false })
  const [password, setPassword] = useState(() => generate(options))
  const [copied, setCopied] = useState(false)

  function apply(next: Options) {
    setOptions(next)
    setPassword(generate(next))
    setCopied(false)
  }

  function toggle(kind: keyof Omit<Options, 'length'>, on: boolean) {
    const next = { ...options }
    next[kind] = on
    apply(next)
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(password)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }

  return (
    <main className="page password-app">
      <h1>Password Generator</h1>
      <div className="password-output">
        <code aria-live="polite">{password === '' ? 'Choose at least one kind of character' : password}</code>
        <button type="button" onClick={copy} disabled={password === ''}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="muted">Strength: {strength(options)}</p>
      <label className="length">
        <span>Length: {options.length}</span>
        <input
          type="range"
          min={8}
          max={64}
          value={options.length}
          onChange={(event) => apply({ ...options, length: Number(event.target.value) })}
        />
      </label>
      <fieldset className="kinds">
        <legend className="sr-only">Characters</legend>
        {KINDS.map(([key, label]) => (
          <label key={key}>
            <input type="checkbox" checked={options[key]} onChange={(event) => toggle(key, event.target.checked)} />{' '}
            {label}
          </label>
        ))}
      </fieldset>
      <button type="button" onClick={() => apply(options)}>
        New password
      </button>
    </main>
  )
}
