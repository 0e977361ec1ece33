package build

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/appforge/appforge/files"
)

// readBundle reads every regular file under dist, sorted by path, and reports each with
// its size and its size compressed by gzip -9. Symlinks and other special files are left
// out: a build script could point one anywhere on the machine.
func readBundle(ctx context.Context, dist string) (*Report, []files.File, error) {
	var assets []files.File
	err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dist, p)
		if err != nil {
			return err
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		assets = append(assets, files.File{Path: filepath.ToSlash(rel), Content: content})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read bundle: %w", err)
	}
	files.Sort(assets) // WalkDir's lexical order is per folder; make it by whole path

	report := &Report{Files: make([]OutputFile, 0, len(assets))}
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestCompression) // the level is valid
	for _, a := range assets {
		var n countingWriter
		zw.Reset(&n)
		if _, err := zw.Write(a.Content); err != nil {
			return nil, nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, nil, err
		}
		f := OutputFile{Path: a.Path, Size: int64(len(a.Content)), GzipSize: int64(n)}
		report.Files = append(report.Files, f)
		report.TotalSize += f.Size
		report.TotalGzipSize += f.GzipSize
	}
	return report, assets, nil
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
