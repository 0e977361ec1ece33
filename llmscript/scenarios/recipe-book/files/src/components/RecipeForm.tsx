import { useState } from 'react'
import type { Ingredient, NewRecipe } from '../types'

interface RecipeFormProps {
  onAdd: (recipe: NewRecipe) => void
}

function emptyIngredient(): Ingredient {
  return { name: '', quantity: '' }
}

export default function RecipeForm({ onAdd }: RecipeFormProps) {
  const [title, setTitle] = useState('')
  const [servings, setServings] = useState(2)
  const [ingredients, setIngredients] = useState<Ingredient[]>([emptyIngredient()])
  const [steps, setSteps] = useState('')
  const [error, setError] = useState<string | null>(null)

  function updateIngredient(index: number, change: Partial<Ingredient>) {
    setIngredients((prev) => prev.map((item, i) => (i === index ? { ...item, ...change } : item)))
  }

  function removeIngredient(index: number) {
    setIngredients((prev) => (prev.length === 1 ? [emptyIngredient()] : prev.filter((_, i) => i !== index)))
  }

  function save() {
    const cleaned = ingredients
      .map((item) => ({ name: item.name.trim(), quantity: item.quantity.trim() }))
      .filter((item) => item.name !== '')
    if (title.trim() === '') {
      setError('Give the recipe a name.')
      return
    }
    if (cleaned.length === 0) {
      setError('Add at least one ingredient.')
      return
    }
    onAdd({ title: title.trim(), servings, ingredients: cleaned, steps: steps.trim() })
    setTitle('')
    setServings(2)
    setIngredients([emptyIngredient()])
    setSteps('')
    setError(null)
  }

  return (
    <form
      className="recipe-form"
      onSubmit={(event) => {
        event.preventDefault()
        save()
      }}
    >
      <h2>Add a recipe</h2>
      <label className="field">
        <span>Name</span>
        <input value={title} onChange={(event) => setTitle(event.target.value)} placeholder="Tomato soup" />
      </label>
      <label className="field field-small">
        <span>Servings</span>
        <input
          type="number"
          min={1}
          max={50}
          value={servings}
          onChange={(event) => setServings(Math.max(1, Math.round(Number(event.target.value)) || 1))}
        />
      </label>
      <fieldset className="ingredients-fieldset">
        <legend>Ingredients</legend>
        {ingredients.map((ingredient, index) => (
          <div className="ingredient-row" key={index}>
            <input
              className="quantity-input"
              aria-label={`Quantity of ingredient ${index + 1}`}
              value={ingredient.quantity}
              onChange={(event) => updateIngredient(index, { quantity: event.target.value })}
              placeholder="200 g"
            />
            <input
              aria-label={`Ingredient ${index + 1}`}
              value={ingredient.name}
              onChange={(event) => updateIngredient(index, { name: event.target.value })}
              placeholder="tomatoes"
            />
            <button
              type="button"
              className="secondary"
              aria-label={`Remove ingredient ${index + 1}`}
              onClick={() => removeIngredient(index)}
            >
              ×
            </button>
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => setIngredients((prev) => [...prev, emptyIngredient()])}>
          Add ingredient
        </button>
      </fieldset>
      <label className="field">
        <span>Steps</span>
        <textarea
          rows={4}
          value={steps}
          onChange={(event) => setSteps(event.target.value)}
          placeholder="Chop, simmer, blend."
        />
      </label>
      {error !== null && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">Save recipe</button>
    </form>
  )
}
