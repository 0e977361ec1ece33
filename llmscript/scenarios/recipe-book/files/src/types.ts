export interface Ingredient {
  name: string
  quantity: string
}

export interface Recipe {
  id: string
  title: string
  servings: number
  ingredients: Ingredient[]
  steps: string
  createdAt: number
}

export type NewRecipe = Omit<Recipe, 'id' | 'createdAt'>

function isIngredient(value: unknown): value is Ingredient {
  if (typeof value !== 'object' || value === null) return false
  const ingredient = value as Record<string, unknown>
  return typeof ingredient.name === 'string' && typeof ingredient.quantity === 'string'
}

function isRecipe(value: unknown): value is Recipe {
  if (typeof value !== 'object' || value === null) return false
  const recipe = value as Record<string, unknown>
  return (
    typeof recipe.id === 'string' &&
    typeof recipe.title === 'string' &&
    typeof recipe.servings === 'number' &&
    typeof recipe.steps === 'string' &&
    typeof recipe.createdAt === 'number' &&
    Array.isArray(recipe.ingredients) &&
    recipe.ingredients.every(isIngredient)
  )
}

export function isRecipeList(value: unknown): value is Recipe[] {
  return Array.isArray(value) && value.every(isRecipe)
}
