import type { Ingredient } from '../types'

interface IngredientListProps {
  ingredients: Ingredient[]
}

export default function IngredientList({ ingredients }: IngredientListProps) {
  if (ingredients.length === 0) {
    return <p className="muted">No ingredients listed.</p>
  }
  return (
    <ul className="ingredient-list">
      {ingredients.map((ingredient, index) => (
        <li key={`${ingredient.name}-${index}`}>
          {ingredient.quantity !== '' && <span className="quantity">{ingredient.quantity}</span>}
          <span>{ingredient.name}</span>
        </li>
      ))}
    </ul>
  )
}
