interface FooterProps {
  name: string
}

export default function Footer({ name }: FooterProps) {
  return (
    <footer className="footer">
      <div className="container footer-inner">
        <span>
          © {new Date().getFullYear()} {name}
        </span>
        <nav aria-label="Footer">
          <a href="#features">Features</a>
          <a href="#signup">Get started</a>
          <a href="#top">Back to top</a>
        </nav>
      </div>
    </footer>
  )
}
