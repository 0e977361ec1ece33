package generate

import (
	"testing"
)

func TestDetectKind(t *testing.T) {
	tests := []struct {
		msg  string
		want kindID // empty: no app the offline generator makes
	}{
		// Todo lists.
		{"Create a todo app", kindTodo},
		{"create a TODO APP", kindTodo},
		{"Make me a to-do list", kindTodo},
		{"I need a to do list for my groceries", kindTodo},
		{"todos please", kindTodo},
		{"Build a task manager", kindTodo},
		{"an app to track my tasks", kindTodo},
		{"a checklist for packing", kindTodo},
		{"Shopping list app", kindTodo},
		{"something to keep track of my chores and errands", kindTodo},
		{"Create a todo app and deploy it to my domain myapp.com", kindTodo},
		{"a website where I can manage my tasks", kindTodo},
		{"an app called Todo", kindTodo},
		{"a todo app with login and due dates", kindTodo},
		// Notes.
		{"Create a notes app", kindNotes},
		{"a note-taking app", kindNotes},
		{"I want somewhere to jot down notes", kindNotes},
		{"a simple notepad", kindNotes},
		{"Build a journal", kindNotes},
		{"my daily diary", kindNotes},
		{"A NOTEBOOK FOR MEETING NOTES", kindNotes},
		// Counters.
		{"build a counter", kindCounter},
		{"a tally counter for birds I see", kindCounter},
		{"click counter", kindCounter},
		{"an app to count push-ups", kindCounter},
		{"a score keeper for our board games night", kindCounter},
		// Timers.
		{"a pomodoro timer", kindTimer},
		{"Stopwatch", kindTimer},
		{"a stop watch with laps", kindTimer},
		{"a 10 minute countdown", kindTimer},
		{"count down from 5 minutes", kindTimer},
		{"an egg timer", kindTimer},
		// Landing pages.
		{"Create a landing page for my startup", kindLanding},
		{"landing-page for Nimbus", kindLanding},
		{"a website for my bakery", kindLanding},
		{"a homepage for my portfolio", kindLanding},
		{"a coming soon page", kindLanding},
		{"marketing site for our agency", kindLanding},
		{"a landing page for my todo app", kindLanding},
		// Nothing the offline generator makes, or no signal at all.
		{"hello", ""},
		{"make it nice", ""},
		{"a weather app", ""},
		{"build a calculator", ""},
		{"a chat app", ""},
		{"a recipe website", ""},
		{"a kanban board for tasks", ""},
		{"an app showing the next hours of weather", ""},
		{"tic tac toe game", ""},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := parseNew(tt.msg).Kind; got != tt.want {
				t.Errorf("kind of %q = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestParseNew(t *testing.T) {
	tests := []struct {
		msg     string
		kind    kindID
		title   string
		tagline string
		accent  string // hex; empty for none
		dark    string // "on", "off" or "" for not said
		step    int
		seconds int
		mode    string
	}{
		{msg: "a todo app for my groceries", kind: kindTodo, title: "Groceries"},
		{msg: "a todo app for tracking my homework", kind: kindTodo, title: "Homework"},
		{msg: "a todo list to keep track of my chores", kind: kindTodo, title: "Chores"},
		{msg: "Make me a shopping list in green", kind: kindTodo, title: "Shopping List", accent: "#15803d"},
		{msg: "Create a todo app called Groceries with a green theme", kind: kindTodo, title: "Groceries", accent: "#15803d"},
		{msg: "a todo app named my tasks", kind: kindTodo, title: "My Tasks"},
		{msg: `Create a todo app "Weekend Jobs"`, kind: kindTodo, title: "Weekend Jobs"},
		{msg: "a todo app called “Bob's List”", kind: kindTodo, title: "Bob's List"},
		{msg: "a todo app titled 'Home & Garden' in dark mode", kind: kindTodo, title: "Home & Garden", dark: "on"},
		{msg: "a todo app with the title Sprint Board", kind: kindTodo, title: "Sprint Board"},
		{msg: "a todo app called Green Tasks", kind: kindTodo, title: "Green Tasks"},
		{msg: "Create a todo app and deploy it to my domain myapp.com", kind: kindTodo},
		{msg: "build a task manager with #FF8800 accent", kind: kindTodo, accent: "#ff8800"},
		{msg: "a to-do list, accent #f80, dark theme", kind: kindTodo, accent: "#ff8800", dark: "on"},
		{msg: "Create a notes app named journal with a purple theme", kind: kindNotes, title: "Journal", accent: "#9333ea"},
		{msg: "a notes app for my recipes, blue, dark mode", kind: kindNotes, title: "Recipes", accent: "#2563eb", dark: "on"},
		{msg: "make a dark notes app", kind: kindNotes, dark: "on"},
		{msg: "a notes app in dark green", kind: kindNotes, accent: "#15803d"},
		{msg: "a notes app, light mode, pink", kind: kindNotes, accent: "#be185d", dark: "off"},
		{msg: "a DARK MODE notes app in TEAL", kind: kindNotes, accent: "#0f766e", dark: "on"},
		{msg: "build a counter that counts by 5", kind: kindCounter, step: 5},
		{msg: "a counter to count push-ups in steps of 10", kind: kindCounter, title: "Push-Ups", step: 10},
		{msg: "a tally counter for birds I see", kind: kindCounter, title: "Birds"},
		{msg: "a pomodoro timer", kind: kindTimer, seconds: 25 * 60},
		{msg: "a 10 minute countdown called Tea", kind: kindTimer, title: "Tea", seconds: 600},
		{msg: "a timer for 1h 30m", kind: kindTimer, seconds: 5400},
		{msg: "a stopwatch for my runs", kind: kindTimer, title: "Runs", mode: modeStopwatch},
		{msg: "a timer for my workouts in orange", kind: kindTimer, title: "Workouts", accent: "#ea580c"},
		{msg: "Create a landing page for my coffee shop called Bean There", kind: kindLanding,
			title: "Bean There", tagline: "The coffee shop you've been looking for."},
		{msg: "a landing page called Nimbus, a cloud storage app for teams, in dark blue", kind: kindLanding,
			title: "Nimbus", tagline: "A cloud storage app for teams.", accent: "#2563eb"},
		{msg: "a website for my bakery with the tagline 'Fresh every morning'", kind: kindLanding,
			title: "Bakery", tagline: "Fresh every morning"},
		{msg: "landing page for Red Rock Cafe with slogan: coffee worth the climb", kind: kindLanding,
			title: "Red Rock Cafe", tagline: "Coffee worth the climb."},
		{msg: "a landing page for Acme in red", kind: kindLanding, title: "Acme", accent: "#dc2626"},
		{msg: "a landing page for the gold rush museum", kind: kindLanding, title: "Gold Rush Museum"},
		{msg: "a landing page for my startup with a gold theme", kind: kindLanding, title: "Startup", accent: "#d97706"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			in := parseNew(tt.msg)
			if in.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", in.Kind, tt.kind)
			}
			if in.Title != tt.title {
				t.Errorf("title = %q, want %q", in.Title, tt.title)
			}
			if in.Tagline != tt.tagline {
				t.Errorf("tagline = %q, want %q", in.Tagline, tt.tagline)
			}
			gotAccent := ""
			if in.Accent != nil {
				gotAccent = in.Accent.Hex
			}
			if gotAccent != tt.accent {
				t.Errorf("accent = %q, want %q", gotAccent, tt.accent)
			}
			if got := onOff(in.Dark); got != tt.dark {
				t.Errorf("dark = %q, want %q", got, tt.dark)
			}
			if in.Step != tt.step {
				t.Errorf("step = %d, want %d", in.Step, tt.step)
			}
			if in.Seconds != tt.seconds {
				t.Errorf("seconds = %d, want %d", in.Seconds, tt.seconds)
			}
			if in.Mode != tt.mode {
				t.Errorf("mode = %q, want %q", in.Mode, tt.mode)
			}
		})
	}
}

func TestParseNewRest(t *testing.T) {
	tests := []struct {
		msg  string
		rest bool
	}{
		{"Create a todo app", false},
		{"Create a simple, beautiful todo app for my groceries with a green theme please", false},
		{"Create a todo app and deploy it to my domain myapp.com", false},
		{"I'd like a notes app to keep my life organised", false},
		{"a todo app with due dates and priorities", true},
		{"a notes app that syncs with google drive", true},
	}
	for _, tt := range tests {
		if got := parseNew(tt.msg).Rest; got != tt.rest {
			t.Errorf("rest of %q = %v, want %v", tt.msg, got, tt.rest)
		}
	}
}

func TestParseChange(t *testing.T) {
	tests := []struct {
		msg     string
		title   string // "-" for none
		tagline string // "-" for none
		accent  string // hex; empty for none
		dark    string // "on", "off" or ""
		rest    bool
	}{
		{msg: "make the title say My Tasks", title: "My Tasks", tagline: "-"},
		{msg: "rename it to Chores", title: "Chores", tagline: "-"},
		{msg: "Rename the app to weekend jobs", title: "Weekend Jobs", tagline: "-"},
		{msg: "change the title to X", title: "X", tagline: "-"},
		{msg: `change the title to "Bob's List"`, title: "Bob's List", tagline: "-"},
		{msg: "set the heading to read Daily Plan", title: "Daily Plan", tagline: "-"},
		{msg: "call it 'Shopping'", title: "Shopping", tagline: "-"},
		{msg: "title: Hello World", title: "Hello World", tagline: "-"},
		{msg: "The title should be “Ünïcode ✓”", title: "Ünïcode ✓", tagline: "-"},
		{msg: "make it green", title: "-", tagline: "-", accent: "#15803d"},
		{msg: "Make it GREEN!", title: "-", tagline: "-", accent: "#15803d"},
		{msg: "use #0ea5e9 as the accent", title: "-", tagline: "-", accent: "#0ea5e9"},
		{msg: "change the blue to green", title: "-", tagline: "-", accent: "#15803d"},
		{msg: "make it green instead of blue", title: "-", tagline: "-", accent: "#15803d"},
		{msg: "I don't like the blue, make it orange please", title: "-", tagline: "-", accent: "#ea580c"},
		{msg: "make it dark green", title: "-", tagline: "-", accent: "#15803d"},
		{msg: "dark mode", title: "-", tagline: "-", dark: "on"},
		{msg: "switch to dark theme", title: "-", tagline: "-", dark: "on"},
		{msg: "can you make it darker?", title: "-", tagline: "-", dark: "on"},
		{msg: "switch to light mode", title: "-", tagline: "-", dark: "off"},
		{msg: "turn off dark mode", title: "-", tagline: "-", dark: "off"},
		{msg: "no more dark mode", title: "-", tagline: "-", dark: "off"},
		{msg: "switch from dark mode to light mode", title: "-", tagline: "-", dark: "off"},
		{msg: "make the title say My Tasks and use a green theme in dark mode", title: "My Tasks", tagline: "-",
			accent: "#15803d", dark: "on"},
		{msg: "rename the todo app to Weekend Jobs, make it pink", title: "Weekend Jobs", tagline: "-", accent: "#be185d"},
		{msg: "rename it to Green Tasks", title: "Green Tasks", tagline: "-"},
		{msg: "change the tagline to Storage that just works and make it teal", title: "-",
			tagline: "Storage that just works.", accent: "#0f766e"},
		{msg: `change the slogan to "fast & safe"`, title: "-", tagline: "fast & safe"},
		{msg: "add a login page", title: "-", tagline: "-", rest: true},
		{msg: "make it green and add a login page", title: "-", tagline: "-", accent: "#15803d", rest: true},
		{msg: "make it look nicer", title: "-", tagline: "-", rest: true},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			c := parseChange(tt.msg)
			if got := strOrDash(c.Title); got != tt.title {
				t.Errorf("title = %q, want %q", got, tt.title)
			}
			if got := strOrDash(c.Tagline); got != tt.tagline {
				t.Errorf("tagline = %q, want %q", got, tt.tagline)
			}
			gotAccent := ""
			if c.Accent != nil {
				gotAccent = c.Accent.Hex
			}
			if gotAccent != tt.accent {
				t.Errorf("accent = %q, want %q", gotAccent, tt.accent)
			}
			if got := onOff(c.Dark); got != tt.dark {
				t.Errorf("dark = %q, want %q", got, tt.dark)
			}
			if c.Rest != tt.rest {
				t.Errorf("rest = %v, want %v", c.Rest, tt.rest)
			}
		})
	}
}

func TestNormaliseHex(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"#ff8800", "#ff8800", true},
		{"#FF8800", "#ff8800", true},
		{"#f80", "#ff8800", true},
		{" #0ea5e9 ", "#0ea5e9", true},
		{"ff8800", "", false},
		{"#ff88", "", false},
		{"#gg8800", "", false},
		{"#ff8800ff", "", false},
	}
	for _, tt := range tests {
		got, ok := normaliseHex(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normaliseHex(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Every palette colour must carry readable button text (WCAG AA for normal text).
func TestPaletteContrast(t *testing.T) {
	for word, a := range palette {
		if r := contrastRatio(a.Hex, contrastText(a.Hex)); r < 4.5 {
			t.Errorf("%s (%s): text contrast %.2f, want at least 4.5", word, a.Hex, r)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	tests := []struct {
		in     string
		quoted bool
		want   string
	}{
		{"groceries", false, "Groceries"},
		{"my weekend jobs", false, "My Weekend Jobs"},
		{"birds I see", false, "Birds I See"},
		{"push-ups", false, "Push-Ups"},
		{"iPhone Tasks", false, "iPhone Tasks"},
		{"lower case", true, "lower case"},
		{"  spaced \t out  ", true, "spaced out"},
		{"a\x00b", true, "ab"},
		{"word word word word word word word word word word word word word word", true,
			"word word word word word word word word word word word word"},
	}
	for _, tt := range tests {
		if got := cleanTitle(tt.in, tt.quoted, maxTitleRunes); got != tt.want {
			t.Errorf("cleanTitle(%q, %v) = %q, want %q", tt.in, tt.quoted, got, tt.want)
		}
	}
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "on"
	}
	return "off"
}

func strOrDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// Reading a message never panics and gives titles a browser tab can show.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Create a todo app for my groceries with a green theme",
		`rename it to "Bob's List" and use #0ea5e9`,
		"a landing page called Nimbus, a cloud storage app for teams, in dark blue",
		"change the tagline to 'x' and make it dark",
		"called “", "for ", "title:", "'", "#", "a 1h timer", "\u2028called x\u00a0y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		in := parseNew(msg)
		c := parseChange(msg)
		for _, title := range []string{in.Title, strOrDash(c.Title)} {
			if len([]rune(title)) > maxTitleRunes {
				t.Errorf("title %q longer than %d runes", title, maxTitleRunes)
			}
			for _, r := range title {
				if r < 0x20 || r == 0x7f {
					t.Errorf("title %q holds a control character", title)
				}
			}
		}
	})
}
