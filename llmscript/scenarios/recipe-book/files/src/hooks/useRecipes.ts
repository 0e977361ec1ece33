import { useEffect, useState } from 'react'
import { isRecipeList } from '../types'
import type { NewRecipe, Recipe } from '../types'

const STORAGE_KEY = 'appforge.recipes.v1'

const SAMPLE_RECIPES: Recipe[] = [
  {
    id: 'sample-pancakes',
    title: 'Fluffy pancakes',
    servings: 4,
    ingredients: [
      { name: 'flour', quantity: '200 g' },
      { name: 'milk', quantity: '300 ml' },
      { name: 'eggs', quantity: '2' },
      { name: 'baking powder', quantity: '2 tsp' },
    ],
    steps: 'Whisk everything into a thick batter.\nCook ladlefuls in a hot buttered pan, two minutes a side.',
    createdAt: 0,
  },
  {
    id: 'sample-soup',
    title: 'Tomato soup',
    servings: 2,
    ingredients: [
      { name: 'tomatoes', quantity: '800 g' },
      { name: 'onion', quantity: '1' },
      { name: 'garlic', quantity: '2 cloves' },
      { name: 'basil', quantity: 'a handful' },
    ],
    steps: 'Soften the onion and garlic, add the tomatoes and simmer for 20 minutes.\nBlend with the basil.',
    createdAt: 0,
  },
]

function loadRecipes(): Recipe[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    if (raw === null) return SAMPLE_RECIPES
    const parsed: unknown = JSON.parse(raw)
    return isRecipeList(parsed) ? parsed : SAMPLE_RECIPES
  } catch {
    return SAMPLE_RECIPES
  }
}

function newId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID()
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

/** The recipes saved in this browser, kept in localStorage. */
export function useRecipes() {
  const [recipes, setRecipes] = useState<Recipe[]>(loadRecipes)

  useEffect(() => {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(recipes))
    } catch {
      // Storage full or disabled: the recipes still work for this visit.
    }
  }, [recipes])

  function addRecipe(recipe: NewRecipe) {
    setRecipes((prev) => [{ ...recipe, id: newId(), createdAt: Date.now() }, ...prev])
  }

  function removeRecipe(id: string) {
    setRecipes((prev) => prev.filter((recipe) => recipe.id !== id))
  }

  return { recipes, addRecipe, removeRecipe }
}
