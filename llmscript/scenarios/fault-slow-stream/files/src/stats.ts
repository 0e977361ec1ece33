export interface TextStats {
  words: number
  characters: number
  charactersNoSpaces: number
  sentences: number
  paragraphs: number
  readingMinutes: number
}

const WORDS_PER_MINUTE = 230

/** textStats counts the words, characters, sentences and paragraphs of text. */
export function textStats(text: string): TextStats {
  const trimmed = text.trim()
  const words = trimmed === '' ? 0 : trimmed.split(/\s+/).length
  return {
    words,
    characters: text.length,
    charactersNoSpaces: text.replace(/\s/g, '').length,
    sentences: trimmed === '' ? 0 : trimmed.split(/[.!?]+(?:\s|$)/).filter((s) => s.trim() !== '').length,
    paragraphs: trimmed === '' ? 0 : trimmed.split(/\n\s*\n/).length,
    readingMinutes: Math.ceil(words / WORDS_PER_MINUTE),
  }
}
