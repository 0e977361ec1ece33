export default function App() {
  return (
    <main className="page">
      <h1>New app</h1>
      <p className="muted">This app was created by appforge. Describe what it should do in the chat.</p>
    </main>
  )
}
