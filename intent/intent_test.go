package intent

import "testing"

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Intent
	}{
		{"deploy it", Intent{Publish: true, OnlyPublish: true}},
		{"Publish", Intent{Publish: true, OnlyPublish: true}},
		{"please publish the app", Intent{Publish: true, OnlyPublish: true}},
		{"ok, go live!", Intent{Publish: true, OnlyPublish: true}},
		{"ship it", Intent{Publish: true, OnlyPublish: true}},
		{"Deploy it to production now please", Intent{Publish: true, OnlyPublish: true}},
		{"push to prod", Intent{Publish: true, OnlyPublish: true}},
		{"deploy version 3", Intent{Publish: true, OnlyPublish: true, Version: 3}},
		{"publish v12 to production", Intent{Publish: true, OnlyPublish: true, Version: 12}},
		{"Create a todo app and deploy it", Intent{Publish: true}},
		{"make the title say My Tasks and publish", Intent{Publish: true}},
		{"make the title say My Tasks", Intent{}},
		{"add a publish button to each note", Intent{}},
		{"show the deploy date in the footer", Intent{}},
		{"how do I deploy this?", Intent{}},
		{"Create a landing page for my coffee shop", Intent{}},
		{"", Intent{}},
		{"deploy it to my domain myapp.com", Intent{Publish: true, OnlyPublish: true, Domain: "myapp.com"}},
		{"Create a todo app and deploy it to my domain myapp.com", Intent{Publish: true, Domain: "myapp.com"}},
		{"publish it on shop.example.org please", Intent{Publish: true, OnlyPublish: true, Domain: "shop.example.org"}},
		{"deploy to https://MyApp.io", Intent{Publish: true, OnlyPublish: true, Domain: "myapp.io"}},
		{"make a link to example.com in the footer", Intent{}},
		{"add a link to github.com and deploy it", Intent{Publish: true}},
		{"put the footer on example.org and publish", Intent{Publish: true}},
		{"use my custom domain shop.example.org and publish", Intent{Publish: true, OnlyPublish: true, Domain: "shop.example.org"}},
		{"go live at www.myapp.io", Intent{Publish: true, OnlyPublish: true, Domain: "www.myapp.io"}},
		{"publish version 4 to myapp.com", Intent{Publish: true, OnlyPublish: true, Version: 4, Domain: "myapp.com"}},
		{"my domain is myapp.com, deploy it there", Intent{Publish: true, OnlyPublish: true, Domain: "myapp.com"}},
		{"deploy it to my domain myapp.com.", Intent{Publish: true, OnlyPublish: true, Domain: "myapp.com"}},
		{"deploy it to https://myapp.com/", Intent{Publish: true, OnlyPublish: true, Domain: "myapp.com"}},
		// Names that cannot be used are still taken, so that the domain's setup says why.
		{"deploy it to my domain *.myapp.com", Intent{Publish: true, OnlyPublish: true, Domain: "*.myapp.com"}},
		{"deploy it to my domain my_app.com", Intent{Publish: true, OnlyPublish: true, Domain: "my_app.com"}},
		{"deploy it to localhost", Intent{Publish: true, OnlyPublish: true, Domain: "localhost"}},
		// Not names at all.
		{"go live at 5.30pm", Intent{Publish: true}},
		{"deploy it, my domain is ready", Intent{Publish: true}},
		{"deploy it to e.g. staging", Intent{Publish: true}},
	} {
		if got := Read(tc.msg); got != tc.want {
			t.Errorf("Read(%q) = %+v, want %+v", tc.msg, got, tc.want)
		}
	}
}
