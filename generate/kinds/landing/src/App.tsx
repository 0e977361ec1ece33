import './App.css'
import { tagline, title } from './config'
import CallToAction from './components/CallToAction'
import Features from './components/Features'
import Footer from './components/Footer'
import Hero from './components/Hero'
import NavBar from './components/NavBar'

export default function App() {
  return (
    <>
      <NavBar name={title} />
      <main>
        <Hero name={title} tagline={tagline} />
        <Features name={title} />
        <CallToAction />
      </main>
      <Footer name={title} />
    </>
  )
}
