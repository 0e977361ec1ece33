import { useState } from 'react'
import './App.css'
import RecipeForm from './components/RecipeForm'
import RecipeList from './components/RecipeList'
import SearchBar from './components/SearchBar'
import { useRecipes } from './hooks/useRecipes'
import { matchesQuery } from './lib/search'

export default function App() {
  const { recipes, addRecipe, removeRecipe } = useRecipes()
  const [query, setQuery] = useState('')
  const visible = recipes.filter((recipe) => matchesQuery(recipe, query))

  return (
    <main className="recipe-app">
      <header className="app-header">
        <h1>Recipe Book</h1>
        <p className="muted">
          {recipes.length} {recipes.length === 1 ? 'recipe' : 'recipes'} saved in this browser
        </p>
      </header>
      <div className="layout">
        <RecipeForm onAdd={addRecipe} />
        <section className="recipes" aria-label="Recipes">
          <SearchBar query={query} resultCount={visible.length} onChange={setQuery} />
          <RecipeList
            recipes={visible}
            emptyMessage={query.trim() === '' ? 'No recipes yet. Add your first one.' : `No recipe matches “${query.trim()}”.`}
            onDelete={removeRecipe}
          />
        </section>
      </div>
    </main>
  )
}
