import { useState } from 'react'
import IngredientList from './IngredientList'
import type { Recipe } from '../types'

interface RecipeCardProps {
  recipe: Recipe
  onDelete: (id: string) => void
}

export default function RecipeCard({ recipe, onDelete }: RecipeCardProps) {
  const [showSteps, setShowSteps] = useState(false)
  const hasSteps = recipe.steps.trim() !== ''

  return (
    <article className="recipe-card">
      <header className="recipe-card-header">
        <div>
          <h3>{recipe.title}</h3>
          <p className="muted">
            {recipe.servings} {recipe.servings === 1 ? 'serving' : 'servings'} ·{' '}
            {recipe.ingredients.length} {recipe.ingredients.length === 1 ? 'ingredient' : 'ingredients'}
          </p>
        </div>
        <div className="recipe-card-actions">
          {hasSteps && (
            <button
              type="button"
              className="secondary"
              aria-expanded={showSteps}
              onClick={() => setShowSteps((shown) => !shown)}
            >
              {showSteps ? 'Hide steps' : 'Show steps'}
            </button>
          )}
          <button
            type="button"
            className="danger"
            aria-label={`Delete ${recipe.title}`}
            onClick={() => onDelete(recipe.id)}
          >
            Delete
          </button>
        </div>
      </header>
      <IngredientList ingredients={recipe.ingredients} />
      {showSteps && hasSteps && <p className="recipe-steps">{recipe.steps}</p>}
    </article>
  )
}
