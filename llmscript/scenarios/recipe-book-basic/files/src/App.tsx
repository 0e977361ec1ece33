import './App.css'
import RecipeForm from './components/RecipeForm'
import RecipeList from './components/RecipeList'
import { useRecipes } from './hooks/useRecipes'

export default function App() {
  const { recipes, addRecipe, removeRecipe } = useRecipes()

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
          <RecipeList recipes={recipes} emptyMessage="No recipes yet. Add your first one." onDelete={removeRecipe} />
        </section>
      </div>
    </main>
  )
}
