package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/appforge/appforge/files"
)

// Profile says what a build is for. The profile, not the app's vite.config.ts, decides
// the settings that matter for serving: the builder lays them over the app's config in a
// wrapper config (see viteWrapper) where neither the config file nor its plugins can turn
// them off, and checks the output afterwards.
type Profile string

const (
	// ProfilePreview is a build for a preview deploy: not minified (dead code is still
	// dropped), source maps beside every JS and CSS file, hashed asset names, the vendor
	// chunk split from app code as in production. No budget is enforced. The zero
	// Request.Profile means ProfilePreview: callers that predate profiles deploy what they
	// build to a preview.
	ProfilePreview Profile = "preview"
	// ProfileProduction is a build for the production environment: minified JS and CSS,
	// hashed asset names, react and react-dom (every package the first page load needs)
	// in a vendor chunk of their own, dynamic imports (lazy routes) in chunks of their
	// own, the modern browser target below, no source maps in the output, a _headers file
	// (see Headers), a per-chunk module breakdown and the size budget.
	ProfileProduction Profile = "production"
)

// BrowserTarget is the browsers every profile builds for: Baseline Widely Available as
// Vite 8 defines it (May 2025), set explicitly so that an app's config cannot lower it.
var BrowserTarget = []string{"chrome111", "edge111", "firefox114", "safari16.4", "ios16.4"}

// normalise returns the profile a request asks for, or an error for an unknown one.
func (p Profile) normalise() (Profile, error) {
	switch p {
	case "":
		return ProfilePreview, nil
	case ProfilePreview, ProfileProduction:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown profile %q (want %q or %q)", ErrInvalidRequest, p, ProfilePreview, ProfileProduction)
}

// viteConfigFiles are the names Vite looks for, in its order (DEFAULT_CONFIG_FILES).
var viteConfigFiles = []string{"vite.config.js", "vite.config.mjs", "vite.config.ts", "vite.config.cjs", "vite.config.mts", "vite.config.cts"}

// appViteConfig returns the path of the app's Vite config, or "" when it has none.
func appViteConfig(inputs []files.File) string {
	for _, name := range viteConfigFiles {
		if _, ok := files.Find(inputs, name); ok {
			return name
		}
	}
	return ""
}

// Where the builder's own files for one build live: inside the workspace's node_modules
// folder, which the app cannot write to (checkRequest refuses node_modules/ paths).
const (
	wrapperDir    = "node_modules/.appforge"
	wrapperConfig = wrapperDir + "/vite.config.mjs"
	statsFile     = wrapperDir + "/stats.json"
)

// wrapperParams are the values the wrapper config is written with.
type wrapperParams struct {
	OutDir    string   `json:"outDir"`
	PublicDir string   `json:"publicDir"`
	EnvDir    string   `json:"envDir"`
	CacheDir  string   `json:"cacheDir"`
	StatsFile string   `json:"statsFile"`
	Sourcemap bool     `json:"sourcemap"`
	Minify    any      `json:"minify"`    // "oxc" or false
	CSSMinify any      `json:"cssMinify"` // "lightningcss" or false
	Target    []string `json:"target"`
	Roots     []string `json:"roots"` // the folders the build may read
}

// viteWrapper writes the config that `vite build --config` loads: the app's own config
// (any of Vite's file names, an object, a function or a promise; copied with Vite's
// mergeConfig) with the profile's settings assigned over it, plus a last plugin
// (enforce: 'post', added after every plugin of the app) that
//   - assigns the same settings in its config hook, after the app's plugins' hooks, and
//     again in configResolved, the last word before the build reads them;
//   - sets the output options in its outputOptions hook, the last to run: hashed names
//     under assets/, the vendor chunk, source maps and minification by profile;
//   - writes every chunk's modules and their rendered sizes to stats.json, and the
//     resolved cacheDir;
//   - fails the build when a module to load is a file outside the workspace and the
//     dependency cache (its load hook runs first): an app's imports reach its own files
//     and its installed dependencies, nothing else of the machine.
//
// The output folder, public folder, env folder and prefix, base and cacheDir are forced
// too: an app's config cannot copy a folder of the machine into the bundle, expose
// variables without the VITE_ prefix or build somewhere else.
func viteWrapper(ws, appConfig, cacheDir string, roots []string, p Profile) ([]byte, error) {
	params := wrapperParams{
		Roots:     roots,
		OutDir:    filepath.Join(ws, "dist"),
		PublicDir: filepath.Join(ws, "public"),
		EnvDir:    ws,
		CacheDir:  cacheDir,
		StatsFile: filepath.Join(ws, filepath.FromSlash(statsFile)),
		Target:    BrowserTarget,
	}
	switch p {
	case ProfileProduction:
		params.Minify, params.CSSMinify = "oxc", "lightningcss"
	default:
		params.Sourcemap, params.Minify, params.CSSMinify = true, false, false
	}
	js, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	importApp := "const app = {}"
	if appConfig != "" {
		rel, _ := json.Marshal(path.Join("..", "..", appConfig)) // from node_modules/.appforge
		importApp = "import * as app from " + string(rel)
	}
	r := strings.NewReplacer("__IMPORT_APP__", importApp, "__PARAMS__", string(js))
	return []byte(r.Replace(wrapperSource)), nil
}

// wrapperSource is the wrapper config; __IMPORT_APP__ and __PARAMS__ are filled in.
const wrapperSource = `// Written by appforge for one build: the app's Vite config with the build profile's
// settings laid over it, where neither the config nor its plugins can undo them.
import { defineConfig, mergeConfig } from 'vite'
import { writeFileSync } from 'node:fs'
import { isAbsolute, relative, sep } from 'node:path'
__IMPORT_APP__

const P = __PARAMS__

// Packages the first page load needs go to the vendor chunk; a package only a lazy
// route imports stays with that route.
const vendor = { name: 'vendor', test: /[\\/]node_modules[\\/]/, tags: ['$initial'] }

// The settings no app may change, assigned (not merged: mergeConfig would concatenate
// an app's build target with ours) over the app's config, its per-environment build
// options included, which override the top-level ones.
const forced = {
  base: '/',
  publicDir: P.publicDir,
  envDir: P.envDir,
  envPrefix: 'VITE_',
  cacheDir: P.cacheDir,
}
const forcedBuild = {
  outDir: P.outDir,
  assetsDir: 'assets',
  emptyOutDir: true,
  copyPublicDir: true,
  sourcemap: P.sourcemap,
  minify: P.minify,
  cssMinify: P.cssMinify,
  target: P.target,
  cssTarget: P.target,
  manifest: false,
  ssrManifest: false,
  ssr: false,
  lib: false,
  write: true,
  watch: null,
  reportCompressedSize: false,
}

function force(config) {
  Object.assign(config, forced)
  config.build = Object.assign(config.build ?? {}, forcedBuild)
  for (const env of Object.values(config.environments ?? {})) {
    if (env && env.build) Object.assign(env.build, forcedBuild)
  }
  return config
}

function appforge() {
  let cacheDir = ''
  return {
    name: 'appforge:profile',
    enforce: 'post',
    config(config) {
      force(config)
    },
    load: {
      order: 'pre',
      handler(id) {
        const file = id.split('?')[0]
        if (!isAbsolute(file) || id.startsWith('\0')) return null
        if (!P.roots.some((r) => file === r || file.startsWith(r + sep))) {
          this.error(relative(process.cwd(), file) + ' is outside the app and its dependencies')
        }
        return null
      },
    },
    configResolved(config) {
      // The resolved config too: the last word before the build reads it.
      Object.assign(config.build, forcedBuild)
      for (const env of Object.values(config.environments ?? {})) {
        if (env && env.build) Object.assign(env.build, forcedBuild)
      }
      cacheDir = config.cacheDir
    },
    outputOptions(o) {
      return {
        ...o,
        dir: P.outDir,
        format: 'es',
        sourcemap: P.sourcemap,
        minify: P.minify ? true : 'dce-only',
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
        codeSplitting: { groups: [vendor] },
        manualChunks: undefined,
        advancedChunks: undefined,
        inlineDynamicImports: undefined,
      }
    },
    generateBundle(_, bundle) {
      const chunks = []
      for (const item of Object.values(bundle)) {
        if (item.type !== 'chunk') continue
        chunks.push({
          file: item.fileName,
          name: item.name,
          entry: item.isEntry,
          dynamic: item.isDynamicEntry,
          modules: Object.entries(item.modules).map(([id, m]) => ({ id, size: m.renderedLength })),
        })
      }
      writeFileSync(P.statsFile, JSON.stringify({ cacheDir, chunks }))
    },
  }
}

export default defineConfig(async (env) => {
  let config = app.default ?? {}
  if (typeof config === 'function') config = await config(env)
  config = mergeConfig({}, (await config) ?? {}) // a copy: the app's module may be shared
  force(config)
  config.plugins = [...(config.plugins ?? []), appforge()]
  return config
})
`

// builderVersion changes whenever the builder's output for the same inputs may change:
// it is part of the output cache key. The wrapper's source is hashed in, so editing it
// is enough; bump the number for changes elsewhere (post-processing, the esbuild path).
var builderVersion = func() string {
	sum := sha256.Sum256([]byte(wrapperSource + esbuildVersion))
	return "4-" + hex.EncodeToString(sum[:8])
}()
