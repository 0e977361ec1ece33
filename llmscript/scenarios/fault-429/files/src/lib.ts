export interface Split {
  tip: number
  total: number
  perPerson: number
}

/** split works out the tip and what each person pays, in the bill's currency. */
export function split(bill: number, tipPercent: number, people: number): Split {
  const safeBill = Number.isFinite(bill) && bill > 0 ? bill : 0
  const safePeople = Math.max(1, Math.floor(people))
  const tip = (safeBill * tipPercent) / 100
  const total = safeBill + tip
  return { tip, total, perPerson: total / safePeople }
}

export const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
