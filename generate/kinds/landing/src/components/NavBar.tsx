import Logo from './Logo'

interface NavBarProps {
  name: string
}

export default function NavBar({ name }: NavBarProps) {
  return (
    <header className="nav">
      <div className="container nav-inner">
        <a className="brand" href="#top">
          <Logo />
          <span>{name}</span>
        </a>
        <nav aria-label="Main">
          <a href="#features">Features</a>
          <a className="button small" href="#signup">
            Get started
          </a>
        </nav>
      </div>
    </header>
  )
}
