package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// A mixinCopy is one line of copies.txt: the file the mixin generates at
// from (a path in its output), generated with exporterURL ("": the
// committed output), copied to to (a path in the repository).
type mixinCopy struct {
	exporterURL, from, to string
}

// parse reads copies.txt: comments, "exporterURL <url>" for the lines
// after it, and "<from> <to>" lines.
func parse(text string) ([]mixinCopy, error) {
	var copies []mixinCopy
	exporterURL := ""
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case len(f) == 2 && f[0] == "exporterURL":
			exporterURL = f[1]
		case len(f) == 2:
			if seen[f[1]] {
				return nil, fmt.Errorf("copies.txt:%d: %s is already a copy", i+1, f[1])
			}
			seen[f[1]] = true
			copies = append(copies, mixinCopy{exporterURL: exporterURL, from: f[0], to: f[1]})
		default:
			return nil, fmt.Errorf("copies.txt:%d: want \"<generated file> <copy>\" or \"exporterURL <url>\", got %q", i+1, line)
		}
	}
	if len(copies) == 0 {
		return nil, errors.New("copies.txt lists no copy")
	}
	return copies, nil
}

// A generator returns the directory holding the mixin's output generated
// with exporterURL.
type generator func(exporterURL string) (string, error)

// sync compares every copy under root with what it copies and, with write,
// rewrites the copies that differ and removes the .json files of a
// directory of dashboard copies that are no copy. It returns what is
// wrong: everything with write unset, only what writing cannot fix (a
// source the mixin does not generate, a dashboard without a copy) with it.
func sync(root string, copies []mixinCopy, generated generator, write bool) ([]string, error) {
	var problems []string
	source := func(c mixinCopy) (string, error) {
		if c.exporterURL == "" {
			return root, nil
		}
		return generated(c.exporterURL)
	}
	for _, c := range copies {
		dir, err := source(c)
		if err != nil {
			return nil, err
		}
		want, err := os.ReadFile(filepath.Join(dir, c.from))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: the mixin generates no %s (%v)", c.to, c.from, err))
			continue
		}
		dst := filepath.Join(root, c.to)
		got, err := os.ReadFile(dst)
		if err == nil && bytes.Equal(got, want) {
			continue
		}
		if !write {
			what := "stale"
			if errors.Is(err, fs.ErrNotExist) {
				what = "missing"
			}
			problems = append(problems, fmt.Sprintf("%s is %s: it must equal %s", c.to, what, describe(c)))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, want, 0o644); err != nil {
			return nil, err
		}
	}
	more, err := syncDashboardDirs(root, copies, source, write)
	return append(problems, more...), err
}

// syncDashboardDirs checks that each directory holding a copy of a
// dashboard holds one of every dashboard, and only those: a new dashboard
// must be listed, a removed one's copies go.
func syncDashboardDirs(root string, copies []mixinCopy, source func(mixinCopy) (string, error), write bool) ([]string, error) {
	var problems []string
	type place struct{ exporterURL, dir string }
	listed := map[place][]mixinCopy{}
	var places []place
	for _, c := range copies {
		if path.Dir(c.from) != "dashboards" {
			continue
		}
		p := place{c.exporterURL, path.Dir(c.to)}
		if _, ok := listed[p]; !ok {
			places = append(places, p)
		}
		listed[p] = append(listed[p], c)
	}
	for _, p := range places {
		dir, err := source(listed[p][0])
		if err != nil {
			return nil, err
		}
		dashboards, err := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
		if err != nil {
			return nil, err
		}
		for _, d := range dashboards {
			from := "dashboards/" + filepath.Base(d)
			if !slices.ContainsFunc(listed[p], func(c mixinCopy) bool { return c.from == from }) {
				problems = append(problems, fmt.Sprintf("%s has no copy in %s: add it to internal/mixincopies/copies.txt", from, p.dir))
			}
		}
		present, err := filepath.Glob(filepath.Join(root, p.dir, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range present {
			rel := path.Join(p.dir, filepath.Base(f))
			if slices.ContainsFunc(copies, func(c mixinCopy) bool { return c.to == rel }) {
				continue
			}
			if !write {
				problems = append(problems, fmt.Sprintf("%s is a copy of no generated dashboard: make generate removes it", rel))
				continue
			}
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	return problems, nil
}

// describe names what a copy must equal, for a stale copy's message.
func describe(c mixinCopy) string {
	if c.exporterURL == "" {
		return c.from
	}
	return fmt.Sprintf("the mixin's %s generated with exporterURL %s", c.from, c.exporterURL)
}
