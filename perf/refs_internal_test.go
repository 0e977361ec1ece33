package perf

import (
	"slices"
	"testing"
	"time"
)

func TestHTMLRefs(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []ref
	}{
		{"vite output", `<script type="module" crossorigin src="/assets/index-a.js"></script>
			<link rel="modulepreload" crossorigin href="/assets/vendor-b.js">
			<link rel="stylesheet" crossorigin href="/assets/index-c.css">
			<link rel="icon" type="image/svg+xml" href="/favicon.svg">`,
			[]ref{{url: "/assets/index-a.js", kind: KindModule}, {url: "/assets/vendor-b.js", kind: KindModulePreload},
				{url: "/assets/index-c.css", kind: KindStylesheet}, {url: "/favicon.svg", kind: KindIcon}}},
		{"classic scripts run, others not", `<script src="a.js"></script><script type="text/javascript" src="b.js"></script>
			<script type="application/json" src="c.json"></script><script nomodule src="legacy.js"></script>
			<script type="text/x-template" src="t.html"></script>`,
			[]ref{{url: "a.js", kind: KindScript}, {url: "b.js", kind: KindScript}}},
		{"link rels", `<link rel="shortcut icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/touch.png">
			<link rel="preload" as="font" href="/f.woff2" crossorigin><link rel="prefetch" href="/later.js">
			<link rel="preconnect" href="https://fonts.example"><link rel="manifest" href="/m.json">
			<link rel="alternate stylesheet" href="/alt.css"><link rel="stylesheet" disabled href="/off.css">
			<link rel="STYLESHEET" href="/upper.css"><link rel="stylesheet">`,
			[]ref{{url: "/favicon.ico", kind: KindIcon}, {url: "/f.woff2", kind: KindPreload}, {url: "/upper.css", kind: KindStylesheet}}},
		{"images", `<img src="a.png"><img srcset="b-1x.png 1x, b-2x.png 2x"><img src="data:image/png;base64,AAAA">
			<img loading="lazy" src="lazy.png"><img alt="none">`,
			[]ref{{url: "a.png", kind: KindImage}, {url: "b-1x.png", kind: KindImage}, {url: "data:image/png;base64,AAAA", kind: KindImage},
				{url: "lazy.png", kind: KindImage}}},
		{"inert content", `<template><img src="t.png"><script src="t.js"></script></template>
			<noscript><img src="n.png"><link rel="stylesheet" href="n.css"></noscript><img src="after.png">`,
			[]ref{{url: "after.png", kind: KindImage}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _ := htmlRefs([]byte(tt.doc))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestHTMLInlinesAndBase(t *testing.T) {
	doc := `<base href="/static/"><base href="/ignored/"><style>.a{background:url(a.png)}</style>
		<div style="background-image: url('b.png')"></div>
		<script type="module">import "./dep.js"</script><script>import("./not-a-module.js")</script>`
	_, base, inlines := htmlRefs([]byte(doc))
	if base != "/static/" {
		t.Errorf("base %q, want the first one", base)
	}
	want := []inline{{".a{background:url(a.png)}", KindStylesheet}, {"background-image: url('b.png')", KindStylesheet},
		{`import "./dep.js"`, KindModule}}
	if !slices.Equal(inlines, want) {
		t.Errorf("inlines\n got %q\nwant %q", inlines, want)
	}
}

func TestCSSRefs(t *testing.T) {
	tests := []struct {
		name string
		css  string
		want []ref
	}{
		{"imports", `@import "a.css"; @import url(b.css) screen; @import url('c.css') layer(x); @IMPORT 'd.css';`,
			[]ref{{url: "a.css", kind: KindStylesheet}, {url: "b.css", kind: KindStylesheet}, {url: "c.css", kind: KindStylesheet}, {url: "d.css", kind: KindStylesheet}}},
		{"font picks the first usable format", `@font-face{font-family:X;src:local(X),url(x.eot) format("embedded-opentype"),url(x.svg#x) format('svg'),url("x.woff2") format("woff2"),url(x.woff) format("woff")}`,
			[]ref{{url: "x.woff2", kind: KindFont}}},
		{"font without a format hint", `@font-face{font-family:X;src:url(x.ttf)}`, []ref{{url: "x.ttf", kind: KindFont}}},
		{"font with only local", `@font-face{font-family:X;src:local(Arial)}`, nil},
		{"fontsource: latin faces only", `
			@font-face{font-family:Inter;src:url(inter-cyrillic.woff2) format("woff2");unicode-range:U+0301,U+0400-045F,U+0490-0491}
			@font-face{font-family:Inter;src:url(inter-greek.woff2) format("woff2");unicode-range:U+0370-0377,U+037A-037F}
			@font-face{font-family:Inter;src:url(inter-latin-ext.woff2) format("woff2");unicode-range:U+0100-02BA,U+02BD-02C5}
			@font-face{font-family:Inter;src:url(inter-latin.woff2) format("woff2");unicode-range:U+0000-00FF,U+0131,U+0152-0153}
			@font-face{font-family:Digits;src:url(digits.woff2);unicode-range:U+3?}`,
			[]ref{{url: "inter-latin.woff2", kind: KindFont}, {url: "digits.woff2", kind: KindFont}}},
		{"data URL with semicolons in a font", `@font-face{font-family:X;src:url(data:font/woff2;base64,AAAA) format("woff2"),url(x.woff)}`,
			nil},
		{"images", `.a{background:url(a.png)} .b{background-image:url( "b.png" )} .c{mask:url('c.svg#m')}
			.d{filter:url(#blur)} .e{background:url(data:image/gif;base64,R0l)} .f{cursor:url(f.cur),auto}
			.g{background:image-set(url(g1.png) 1x,url(g2.png) 2x)} .h{--my-url(x):1} .i{background:URL(i.png)}`,
			[]ref{{url: "a.png", kind: KindImage}, {url: "b.png", kind: KindImage}, {url: "c.svg#m", kind: KindImage},
				{url: "f.cur", kind: KindImage}, {url: "g1.png", kind: KindImage}, {url: "g2.png", kind: KindImage}, {url: "i.png", kind: KindImage}}},
		{"comments and strings", `/* url(no.png) @import "no.css"; */ .a::before{content:"url(not-me.png) /* not a comment"} .b{background:url(yes.png)}`,
			[]ref{{url: "yes.png", kind: KindImage}}},
		{"escaped quote", `.a{background:url("a\"b.png")}`, []ref{{url: `a"b.png`, kind: KindImage}}},
		{"vite minified", `@font-face{font-display:swap;font-family:Inter;font-style:normal;font-weight:400;src:url(/assets/inter-latin-400-normal-Cg.woff2)format("woff2"),url(/assets/inter-latin-400-normal-Bz.woff)format("woff");unicode-range:U+0000-00FF}.hero{background:url(/assets/hero-D4.jpg)center/cover}`,
			[]ref{{url: "/assets/inter-latin-400-normal-Cg.woff2", kind: KindFont}, {url: "/assets/hero-D4.jpg", kind: KindImage}}},
		{"unterminated", `.a{background:url(a.png`, []ref{{url: "a.png", kind: KindImage}}},
		{"at-rules that hold rules", `@media (min-width:1px){.a{background:url(m.png)}} @supports (display:grid){.b{background:url(s.png)}}`,
			[]ref{{url: "m.png", kind: KindImage}, {url: "s.png", kind: KindImage}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cssRefs(tt.css); !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestModuleImports(t *testing.T) {
	tests := []struct {
		name string
		code string
		want []string
	}{
		{"vite entry", "import{n as e,r as t}from\"./vendor-W.js\";(function(){let e=`import x from \"./no.js\"`;})();" +
			"const l=()=>import(`./lazy-A.js`);export{l}", []string{"./vendor-W.js"}},
		{"every static form", `import a from "./a.js"; import * as b from './b.js'; import "./c.js";
			import {d} from "/d.js"; export * from "./e.js"; export {f} from "./f.js"; import g, {h} from "./g.js";
			import a2 from "./a.js"; import react from "react"; import x from "https://cdn.example/x.js"`,
			[]string{"./a.js", "./b.js", "./c.js", "/d.js", "./e.js", "./f.js", "./g.js", "react", "https://cdn.example/x.js"}},
		{"dynamic and require are not static", `const m = await import("./m.js"); if (0) require("./r.js"); new URL("./u.png", import.meta.url)`, nil},
		{"comments and strings", "// import a from './no1.js'\n/* import './no2.js' */\nconst s = \"import './no3.js'\"; const r = /import '.\\/no4.js'/;", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := moduleImports("test.js", tt.code)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if _, err := moduleImports("broken.js", "import {"); err == nil {
		t.Error("a module that does not parse: no error")
	}
}

func TestCoversASCII(t *testing.T) {
	tests := []struct {
		r    string
		want bool
	}{
		{"U+0000-00FF", true}, {"U+0400-045F, U+0490-0491", false}, {"U+0041", true}, {"u+0041", true},
		{"U+4??", false}, {"U+00??", true}, {"U+007F-00FF", false}, {"U+0100-024F,U+0020", true}, {"nonsense", false},
		{"U+zz", true},
	}
	for _, tt := range tests {
		if got := coversASCII(tt.r); got != tt.want {
			t.Errorf("coversASCII(%q) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0}, {[]time.Duration{5 * ms}, 5 * ms}, {[]time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms},
		{[]time.Duration{4 * ms, 2 * ms}, 3 * ms}, {[]time.Duration{100 * ms, 2 * ms, 3 * ms}, 3 * ms},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("median reordered its input: %v", tt.in)
		}
	}
}
