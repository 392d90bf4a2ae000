// Public face of tensor/: flat parameter vectors, their layouts, seeded randomness.
export * from './layout.js'
export * from './rng.js'
export * from './errors.js'
