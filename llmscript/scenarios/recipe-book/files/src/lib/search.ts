import type { Recipe } from '../types'

/**
 * matchesQuery reports whether every word of the query appears in the recipe's title or
 * in one of its ingredients, ignoring case. An empty query matches every recipe.
 */
export function matchesQuery(recipe: Recipe, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return true
  const text = [recipe.title, ...recipe.ingredients.map((ingredient) => ingredient.name)]
    .join(' ')
    .toLowerCase()
  return words.every((word) => text.includes(word))
}
