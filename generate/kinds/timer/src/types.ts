export type Mode = 'countdown' | 'stopwatch'
