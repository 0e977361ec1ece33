// Package domains holds the pure logic behind custom domains: checking and
// canonicalising a hostname a user typed (Normalize), and looking up what the
// domain's DNS says before Cloudflare is asked to re-check it (Resolver.Check),
// so that the user is told in plain words what, if anything, they must change.
//
// Nothing here talks to Cloudflare or the database; the domain workflow's
// activities and the API call into it.
package domains
