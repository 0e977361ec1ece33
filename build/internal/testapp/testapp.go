// Package testapp makes synthetic apps on the foundation template for the build
// package's tests and benchmark: a larger app with lazy routes, and apps heavy enough to
// trip the size budget.
package testapp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// Template is the foundation template.
func Template() []files.File { return generate.Template() }

// With returns the template with files replaced or added.
func With(overlay map[string]string) []files.File {
	var fs []files.File
	for p, c := range overlay {
		fs = append(fs, files.File{Path: p, Content: []byte(c)})
	}
	return files.Merge(generate.Template(), fs)
}

// Routes is a larger app: 15 components, a history router of its own (no router
// dependency), a home page and two routes loaded lazily with React.lazy and dynamic
// imports (/stats and /settings), each with its own CSS, and a file in public/.
// Every page shows fixed text, so that two builds can be compared in a browser.
func Routes() []files.File {
	overlay := map[string]string{
		"index.html": `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>Atlas</title>
  </head>
  <body>
    <div id="root"></div>
    <script type="module" src="/src/main.tsx"></script>
  </body>
</html>
`,
		"public/robots.txt": "User-agent: *\nAllow: /\n",
		"src/router.ts": `import { useEffect, useState } from 'react'

const listeners = new Set<() => void>()

export function navigate(to: string) {
  if (to === location.pathname) return
  history.pushState(null, '', to)
  listeners.forEach((l) => l())
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const update = () => setPath(location.pathname)
    listeners.add(update)
    window.addEventListener('popstate', update)
    return () => {
      listeners.delete(update)
      window.removeEventListener('popstate', update)
    }
  }, [])
  return path
}
`,
		"src/types.ts": `export interface Metric {
  id: string
  label: string
  value: number
  goal: number
}

export interface Setting {
  id: string
  label: string
  on: boolean
}
`,
		"src/data.ts": `import type { Metric, Setting } from './types'

export const metrics: Metric[] = [
  { id: 'steps', label: 'Steps', value: 8421, goal: 10000 },
  { id: 'water', label: 'Water (glasses)', value: 6, goal: 8 },
  { id: 'sleep', label: 'Sleep (hours)', value: 7, goal: 8 },
  { id: 'focus', label: 'Focus (minutes)', value: 95, goal: 120 },
]

export const settings: Setting[] = [
  { id: 'dark', label: 'Dark mode', on: false },
  { id: 'weekly', label: 'Weekly summary email', on: true },
  { id: 'sounds', label: 'Sounds', on: false },
]
`,
		"src/App.tsx": `import { lazy, Suspense } from 'react'
import Header from './components/Header'
import Footer from './components/Footer'
import Home from './routes/Home'
import NotFound from './components/NotFound'
import Spinner from './components/Spinner'
import { usePath } from './router'
import './App.css'

const Stats = lazy(() => import('./routes/Stats'))
const Settings = lazy(() => import('./routes/Settings'))

export default function App() {
  const path = usePath()
  let page
  switch (path) {
    case '/':
      page = <Home />
      break
    case '/stats':
      page = <Stats />
      break
    case '/settings':
      page = <Settings />
      break
    default:
      page = <NotFound path={path} />
  }
  return (
    <div className="shell">
      <Header />
      <main className="page">
        <Suspense fallback={<Spinner />}>{page}</Suspense>
      </main>
      <Footer />
    </div>
  )
}
`,
		"src/App.css": `.shell {
  min-height: 100vh;
  display: flex;
  flex-direction: column;
}

.shell > main {
  flex: 1;
}

.nav {
  display: flex;
  gap: 12px;
  padding: 12px 20px;
  border-bottom: 1px solid var(--border);
  background: var(--surface);
}

.nav a[aria-current='page'] {
  font-weight: 700;
  text-decoration: none;
}

.card {
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  box-shadow: var(--shadow);
  padding: 16px;
}

.badge {
  display: inline-block;
  padding: 2px 8px;
  border-radius: 999px;
  background: color-mix(in srgb, var(--accent) 15%, transparent);
  color: var(--accent);
  font-size: 0.8em;
}

.spinner {
  width: 24px;
  height: 24px;
  border: 3px solid var(--border);
  border-top-color: var(--accent);
  border-radius: 50%;
  animation: spin 0.8s linear infinite;
}

@keyframes spin {
  to {
    transform: rotate(360deg);
  }
}

footer {
  padding: 16px 20px;
  color: var(--muted);
  font-size: 0.9em;
}
`,
		"src/components/Header.tsx": `import NavLink from './NavLink'
import Logo from './Logo'

export default function Header() {
  return (
    <header>
      <nav className="nav">
        <Logo />
        <NavLink to="/">Home</NavLink>
        <NavLink to="/stats">Stats</NavLink>
        <NavLink to="/settings">Settings</NavLink>
      </nav>
    </header>
  )
}
`,
		"src/components/Logo.tsx": `export default function Logo() {
  return (
    <strong className="logo" aria-label="Atlas">
      Atlas
    </strong>
  )
}
`,
		"src/components/NavLink.tsx": `import type { MouseEvent, ReactNode } from 'react'
import { navigate, usePath } from '../router'

interface Props {
  to: string
  children: ReactNode
}

export default function NavLink({ to, children }: Props) {
  const path = usePath()
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault()
    navigate(to)
  }
  return (
    <a href={to} onClick={onClick} aria-current={path === to ? 'page' : undefined}>
      {children}
    </a>
  )
}
`,
		"src/components/Footer.tsx": `export default function Footer() {
  return <footer>Atlas keeps your numbers in this browser.</footer>
}
`,
		"src/components/Spinner.tsx": `export default function Spinner() {
  return <div className="spinner" role="status" aria-label="Loading" />
}
`,
		"src/components/NotFound.tsx": `import NavLink from './NavLink'

export default function NotFound({ path }: { path: string }) {
  return (
    <section className="card">
      <h1>Nothing at {path}</h1>
      <NavLink to="/">Back home</NavLink>
    </section>
  )
}
`,
		"src/components/Card.tsx": `import type { ReactNode } from 'react'

export default function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="card">
      <h2>{title}</h2>
      {children}
    </section>
  )
}
`,
		"src/components/Badge.tsx": `export default function Badge({ children }: { children: string }) {
  return <span className="badge">{children}</span>
}
`,
		"src/components/Greeting.tsx": `import Badge from './Badge'

export default function Greeting({ name }: { name: string }) {
  return (
    <h1>
      Good day, {name} <Badge>beta</Badge>
    </h1>
  )
}
`,
		"src/components/MetricList.tsx": `import type { Metric } from '../types'

export default function MetricList({ metrics }: { metrics: Metric[] }) {
  return (
    <ul>
      {metrics.map((m) => (
        <li key={m.id}>
          {m.label}: {m.value} of {m.goal}
        </li>
      ))}
    </ul>
  )
}
`,
		"src/components/ProgressBar.tsx": `import './ProgressBar.css'

export default function ProgressBar({ value, goal }: { value: number; goal: number }) {
  const pct = Math.min(100, Math.round((value / goal) * 100))
  return (
    <div className="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
      <div className="progress-fill" style={{ width: pct + '%' }} />
      <span className="progress-label">{pct}%</span>
    </div>
  )
}
`,
		"src/components/ProgressBar.css": `.progress {
  position: relative;
  height: 20px;
  border-radius: 10px;
  background: var(--border);
  overflow: hidden;
}

.progress-fill {
  height: 100%;
  background: var(--accent);
}

.progress-label {
  position: absolute;
  inset: 0;
  text-align: center;
  font-size: 12px;
  line-height: 20px;
}
`,
		"src/components/Toggle.tsx": `import { useId } from 'react'

interface Props {
  label: string
  on: boolean
  onChange: (on: boolean) => void
}

export default function Toggle({ label, on, onChange }: Props) {
  const id = useId()
  return (
    <div className="toggle">
      <input id={id} type="checkbox" checked={on} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
    </div>
  )
}
`,
		"src/components/Streak.tsx": `export default function Streak({ days }: { days: number }) {
  const label = days === 1 ? '1 day' : days + ' days'
  return <p className="muted">Current streak: {label}</p>
}
`,
		"src/routes/Home.tsx": `import Card from '../components/Card'
import Greeting from '../components/Greeting'
import MetricList from '../components/MetricList'
import Streak from '../components/Streak'
import { metrics } from '../data'

export default function Home() {
  return (
    <>
      <Greeting name="Sam" />
      <Streak days={12} />
      <Card title="Today">
        <MetricList metrics={metrics} />
      </Card>
    </>
  )
}
`,
		"src/routes/Stats.tsx": `import Card from '../components/Card'
import ProgressBar from '../components/ProgressBar'
import { metrics } from '../data'
import './Stats.css'

export default function Stats() {
  return (
    <div className="stats">
      <h1>Stats</h1>
      {metrics.map((m) => (
        <Card key={m.id} title={m.label}>
          <ProgressBar value={m.value} goal={m.goal} />
        </Card>
      ))}
    </div>
  )
}
`,
		"src/routes/Stats.css": `.stats {
  display: grid;
  gap: 16px;
  grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
}

.stats h1 {
  grid-column: 1 / -1;
}
`,
		"src/routes/Settings.tsx": `import { useState } from 'react'
import Card from '../components/Card'
import Toggle from '../components/Toggle'
import { settings as initial } from '../data'
import type { Setting } from '../types'
import './Settings.css'

export default function Settings() {
  const [settings, setSettings] = useState<Setting[]>(initial)
  const set = (id: string, on: boolean) => setSettings((s) => s.map((x) => (x.id === id ? { ...x, on } : x)))
  const count = settings.filter((s) => s.on).length
  return (
    <div className="settings">
      <h1>Settings</h1>
      <Card title={count + ' of ' + settings.length + ' on'}>
        {settings.map((s) => (
          <Toggle key={s.id} label={s.label} on={s.on} onChange={(on) => set(s.id, on)} />
        ))}
      </Card>
    </div>
  )
}
`,
		"src/routes/Settings.css": `.settings .toggle {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 6px 0;
}

.settings .toggle + .toggle {
  border-top: 1px solid var(--border);
}

/* Once this route has loaded, every page has less room above: the rule shows whether a
   route's CSS loads with the route (as Vite does) or with the first page. */
.shell .page {
  padding-top: 24px;
}
`,
	}
	return With(overlay)
}

// RouteURLs are the pages of Routes.
var RouteURLs = []string{"/", "/stats", "/settings"}

// Heavy is the template with a data module of about kb KiB of text that the app shows
// (no minifier can shrink it): src/data/words.ts.
func Heavy(kb int) []files.File {
	r := rand.New(rand.NewPCG(1, uint64(kb)))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	b.WriteString("export const words: string[] = [\n")
	for b.Len() < kb<<10 {
		var w strings.Builder
		for range 6 + r.IntN(6) {
			w.WriteByte(letters[r.IntN(len(letters))])
		}
		fmt.Fprintf(&b, "  %q,\n", w.String())
	}
	b.WriteString("]\n")
	return With(map[string]string{
		"src/data/words.ts": b.String(),
		"src/App.tsx": `import { useState } from 'react'
import { words } from './data/words'

export default function App() {
  const [i, setI] = useState(0)
  return (
    <main className="page">
      <h1>Word of the moment</h1>
      <p>{words[i % words.length]}</p>
      <button onClick={() => setI(i + 1)}>Next of {words.length}</button>
    </main>
  )
}
`,
	})
}

// kindMessages make one app of each kind the offline generator knows, in dark and light
// themes and several accents.
var kindMessages = []struct{ name, message string }{
	{"todo", "Create a todo app for my groceries"},
	{"notes", "Create a notes app named Journal with a purple theme in dark mode"},
	{"counter", "build a counter that counts by 5"},
	{"timer", "a 10 minute pomodoro timer called Focus"},
	{"landing", "Create a landing page for my coffee shop called Bean There, in amber"},
}

// Kind is an app the offline generator made.
type Kind struct {
	Name  string
	Files []files.File
}

// Kinds makes one app of every kind of the offline generator.
func Kinds(ctx context.Context) ([]Kind, error) {
	g := generate.NewOffline()
	var out []Kind
	for _, k := range kindMessages {
		req := generate.Request{AppID: "testapp-" + k.name, Message: k.message}
		plan, err := g.Plan(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("%s: plan: %w", k.name, err)
		}
		if !plan.Supported {
			return nil, fmt.Errorf("%s: %q not supported: %s", k.name, k.message, plan.Reply)
		}
		res, err := g.Generate(ctx, req, plan, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: generate: %w", k.name, err)
		}
		out = append(out, Kind{Name: k.name, Files: res.Files})
	}
	return out, nil
}
