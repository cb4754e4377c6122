package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

var (
	white     = color.RGBA{255, 255, 255, 255}
	black     = color.RGBA{30, 30, 30, 255}
	grid      = color.RGBA{225, 225, 225, 255}
	axisGray  = color.RGBA{120, 120, 120, 255}
	targetRed = color.RGBA{214, 39, 40, 255}
)

var targetColor = map[string]color.RGBA{
	tDirect:        {150, 150, 150, 255},
	tRedoubtPT:     {31, 119, 180, 255},
	tRedoubtInsp:   {44, 160, 44, 255},
	tHAProxy:       {255, 127, 14, 255},
	tHAProxySplice: {148, 103, 189, 255},
	tTwemproxy:     {140, 86, 75, 255},
}

func fillRect(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c}, image.Point{}, draw.Src)
}

func dashedHLine(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x < x1; x += 8 {
		fillRect(img, x, y-1, min(x+5, x1), y+1, c)
	}
}

type bar struct {
	Color color.RGBA
	Value float64
	Text  string
}

type barGroup struct {
	Label     string
	Bars      []bar
	Threshold float64 // NaN: none
}

// barPanel draws grouped bars in r, with a title, a y axis from 0 and a
// dashed red line per group at its threshold.
func barPanel(img *image.RGBA, r image.Rectangle, title string, groups []barGroup, refLine float64) {
	drawText(img, r.Min.X, r.Min.Y, title, 2, black)
	plot := image.Rect(r.Min.X+50, r.Min.Y+30, r.Max.X-10, r.Max.Y-30)
	yMax := refLine
	for _, g := range groups {
		if !math.IsNaN(g.Threshold) {
			yMax = math.Max(yMax, g.Threshold)
		}
		for _, b := range g.Bars {
			if !math.IsNaN(b.Value) {
				yMax = math.Max(yMax, b.Value)
			}
		}
	}
	if yMax <= 0 {
		yMax = 1
	}
	yMax *= 1.15
	step := niceStep(yMax / 5)
	yOf := func(v float64) int { return plot.Max.Y - int(v/yMax*float64(plot.Dy())) }
	for v := 0.0; v <= yMax; v += step {
		y := yOf(v)
		fillRect(img, plot.Min.X, y, plot.Max.X, y+1, grid)
		lbl := trimFloat(v)
		drawText(img, plot.Min.X-6-textWidth(lbl, 1), y-3, lbl, 1, axisGray)
	}
	fillRect(img, plot.Min.X, plot.Min.Y, plot.Min.X+1, plot.Max.Y, axisGray)
	fillRect(img, plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y+1, axisGray)
	if refLine > 0 {
		y := yOf(refLine)
		fillRect(img, plot.Min.X, y, plot.Max.X, y+1, black)
	}
	if len(groups) == 0 {
		return
	}
	gw := plot.Dx() / len(groups)
	labelScale := 2
	for _, g := range groups {
		if textWidth(g.Label, 2) > gw-4 {
			labelScale = 1
		}
	}
	for gi, g := range groups {
		gx := plot.Min.X + gi*gw
		if !math.IsNaN(g.Threshold) {
			dashedHLine(img, gx+4, gx+gw-4, yOf(g.Threshold), targetRed)
		}
		n := max(1, len(g.Bars))
		bw := min(60, (gw-20)/n)
		x0 := gx + (gw-bw*n)/2
		for bi, b := range g.Bars {
			x := x0 + bi*bw
			if !math.IsNaN(b.Value) && b.Value > 0 {
				fillRect(img, x+2, yOf(b.Value), x+bw-2, plot.Max.Y, b.Color)
			}
			if b.Text != "" {
				tw := textWidth(b.Text, 1)
				drawText(img, x+(bw-tw)/2, yOf(math.Max(0, nanZero(b.Value)))-10, b.Text, 1, black)
			}
		}
		lw := textWidth(g.Label, labelScale)
		drawText(img, gx+(gw-lw)/2, plot.Max.Y+8, g.Label, labelScale, black)
	}
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// drawChart writes a PNG: throughput ratios per scenario, RSS per idle
// connection, and session setup rate.
func drawChart(path string, res *results, targets []string) error {
	const w, h = 1200, 940
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, 0, 0, w, h, white)
	m := res.Meta
	drawText(img, 20, 14, fmt.Sprintf("REDOUBT BENCHMARK %s  %d ROUNDS  %d CORES  LOAD %s", m.Date, m.Rounds, m.Cores, m.LoadAvgStart), 2, black)
	// legend
	x := 20
	for _, t := range targets {
		fillRect(img, x, 44, x+14, 58, targetColor[t])
		drawText(img, x+20, 45, t, 2, black)
		x += 40 + textWidth(t, 2)
	}

	titles := map[string]string{"c50": "-C 50", "c50-P16": "-C 50 -P 16", "c1": "GET -C 1", "16k": "16 KIB -C 20 -P 4", "256k": "256 KIB -C 10"}
	thr := map[string]float64{"c50": 0.85, "c50-P16": 0.90, "16k": 0.60}
	var groups []barGroup
	for _, sc := range res.Scenarios {
		g := barGroup{Label: titles[sc.ID], Threshold: math.NaN()}
		if t, ok := thr[sc.ID]; ok {
			g.Threshold = t
		}
		for _, tn := range targets {
			if tn == tDirect {
				continue
			}
			row := findRow(res.Summary, sc.ID, tn)
			v := math.NaN()
			if row != nil {
				v = float64(row.Ratio)
			}
			b := bar{Color: targetColor[tn], Value: v, Text: f2(v)}
			if sc.ID == "c1" && row != nil && !math.IsNaN(float64(row.P50AddedUs)) {
				b.Text = fmt.Sprintf("+%.0f", row.P50AddedUs)
			}
			g.Bars = append(g.Bars, b)
		}
		groups = append(groups, g)
	}
	barPanel(img, image.Rect(20, 80, w-20, 500),
		"OPS/S RATIO TO DIRECT (MEDIAN; RED = TARGET; GET -C 1 LABELS: P50 ADDED US)", groups, 1)

	// idle memory
	var ig []barGroup
	for _, ir := range res.Idle {
		v := ir.ProxyKiBPerConn
		if ir.Target == tDirect {
			v = ir.RedisKiBPerConn
		}
		ig = append(ig, barGroup{Label: ir.Target, Threshold: math.NaN(),
			Bars: []bar{{Color: targetColor[ir.Target], Value: v, Text: fmt.Sprintf("%.1f", v)}}})
	}
	for i := range ig {
		if ig[i].Label == tRedoubtPT || ig[i].Label == tRedoubtInsp {
			ig[i].Threshold = 8
		}
	}
	barPanel(img, image.Rect(20, 530, w/2-10, 920), "RSS KIB PER IDLE CONN (DIRECT: REDIS)", ig, 0)

	// session setup
	var sg []barGroup
	for _, s := range res.Setup {
		g := barGroup{Label: s.Method, Threshold: math.NaN(),
			Bars: []bar{{Color: targetColor[s.Target], Value: float64(s.PerSec) / 1000, Text: fmt.Sprintf("%.1f", s.PerSec/1000)}}}
		if s.Target == tRedoubtPT || s.Target == tRedoubtInsp {
			g.Threshold = 20
		}
		sg = append(sg, g)
	}
	barPanel(img, image.Rect(w/2+10, 530, w-20, 920), "THOUSAND SESSIONS/S (CONNECT+AUTH+PING+CLOSE)", sg, 0)

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
