import { money } from '../lib'
import type { Split } from '../lib'

interface TipResultProps {
  result: Split
  people: number
}

export default function TipResult({ result, people }: TipResultProps) {
  return (
    <dl className="tip-result">
      <div>
        <dt>Tip</dt>
        <dd>{money.format(result.tip)}</dd>
      </div>
      <div>
        <dt>Total</dt>
        <dd>{money.format(result.total)}</dd>
      </div>
      <div className="per-person">
        <dt>{people === 1 ? 'You pay' : `Each of ${people} pays`}</dt>
        <dd>{money.format(result.perPerson)}</dd>
      </div>
    </dl>
  )
}
