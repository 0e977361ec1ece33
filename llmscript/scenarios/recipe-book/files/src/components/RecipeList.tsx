import RecipeCard from './RecipeCard'
import type { Recipe } from '../types'

interface RecipeListProps {
  recipes: Recipe[]
  emptyMessage: string
  onDelete: (id: string) => void
}

export default function RecipeList({ recipes, emptyMessage, onDelete }: RecipeListProps) {
  if (recipes.length === 0) {
    return <p className="empty muted">{emptyMessage}</p>
  }
  return (
    <div className="recipe-list">
      {recipes.map((recipe) => (
        <RecipeCard key={recipe.id} recipe={recipe} onDelete={onDelete} />
      ))}
    </div>
  )
}
