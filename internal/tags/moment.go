package tags

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // {{date tz='...'}} must not depend on the image having zoneinfo
)

// formatMoment formats t with moment.js format tokens (English locale), as
// metadata-action's {{date}} and {{commit_date}} do. An empty format is
// moment's default ISO 8601 form.
func formatMoment(t time.Time, format string) string {
	_, offset := t.Zone()
	if format == "" {
		if offset == 0 {
			format = "YYYY-MM-DDTHH:mm:ss[Z]"
		} else {
			format = "YYYY-MM-DDTHH:mm:ssZ"
		}
	}
	var b strings.Builder
	for i := 0; i < len(format); {
		// [literal text]
		if format[i] == '[' {
			if end := strings.IndexAny(format[i+1:], "[]"); end >= 0 && format[i+1+end] == ']' {
				b.WriteString(format[i+1 : i+1+end])
				i += end + 2
				continue
			}
		}
		escaped := false
		if format[i] == '\\' && i+1 < len(format) {
			escaped = true
			i++
		}
		tok := momentToken(format[i:])
		if escaped {
			b.WriteString(tok)
		} else if f, ok := momentFuncs[tok]; ok {
			b.WriteString(f(t))
		} else {
			b.WriteString(tok)
		}
		i += len(tok)
	}
	return b.String()
}

// momentTokens in the order moment's tokenizer tries them (longest first).
var momentTokens = []string{
	"Hmmss", "Hmm", "hmmss", "hmm", "Mo", "MMMM", "MMM", "MM", "M", "Do", "DDDo", "DDDD", "DDD", "DD", "D",
	"dddd", "ddd", "dd", "do", "d", "wo", "ww", "w", "Wo", "WW", "W", "Qo", "Q",
	"NNNNN", "NNNN", "NNN", "NN", "N", "YYYYYY", "YYYYY", "YYYY", "YY", "yyyy", "yyy", "yy", "yo", "y",
	"ggggg", "gggg", "gg", "GGGGG", "GGGG", "GG", "e", "E", "a", "A", "hh", "h", "HH", "H", "kk", "k",
	"mm", "m", "ss", "s", "SSSSSSSSS", "SSSSSSSS", "SSSSSSS", "SSSSSS", "SSSSS", "SSSS", "SSS", "SS", "S",
	"x", "X", "zz", "z", "ZZ", "Z",
}

func momentToken(s string) string {
	for _, tok := range momentTokens {
		if strings.HasPrefix(s, tok) {
			// "Do" must not shadow "DDDo": moment tries Do before DDDo but
			// "DDDo" starts with "DD", so order above already handles it.
			return tok
		}
	}
	// Any other single character (a rune, not a byte) is literal, except
	// the one-letter tokens moment also knows (Y).
	for i := range s {
		if i > 0 {
			return s[:i]
		}
	}
	return s
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

func zeroFill(n, width int, forceSign bool) string {
	sign := ""
	if n < 0 {
		sign = "-"
		n = -n
	} else if forceSign {
		sign = "+"
	}
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return sign + s
}

func ordinal(n int) string {
	suffix := "th"
	if (n%100)/10 != 1 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// localeWeek is moment's week numbering for the English locale: weeks
// start on Sunday and the week with January 1st is week 1.
func localeWeek(t time.Time) (year, week int) {
	const dow, doy = 0, 6
	firstWeekOffset := func(y int) int {
		fwd := 7 + dow - doy
		fwdlw := (7 + int(time.Date(y, time.January, fwd, 0, 0, 0, 0, time.UTC).Weekday()) - dow) % 7
		return -fwdlw + fwd - 1
	}
	weeksInYear := func(y int) int {
		days := 365
		if time.Date(y, time.December, 31, 0, 0, 0, 0, time.UTC).YearDay() == 366 {
			days = 366
		}
		return (days - firstWeekOffset(y) + firstWeekOffset(y+1)) / 7
	}
	y := t.Year()
	w := int(math.Floor(float64(t.YearDay()-firstWeekOffset(y)-1)/7)) + 1
	switch {
	case w < 1:
		return y - 1, w + weeksInYear(y-1)
	case w > weeksInYear(y):
		return y + 1, w - weeksInYear(y)
	}
	return y, w
}

func zoneOffset(t time.Time, sep string) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign = "-"
		off = -off
	}
	return fmt.Sprintf("%s%02d%s%02d", sign, off/3600, sep, off%3600/60)
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

func fraction(t time.Time, digits int) string {
	ms := t.Nanosecond() / int(time.Millisecond)
	switch digits {
	case 1:
		return strconv.Itoa(ms / 100)
	case 2:
		return zeroFill(ms/10, 2, false)
	}
	return zeroFill(ms, 3, false) + strings.Repeat("0", digits-3)
}

var momentFuncs = map[string]func(time.Time) string{
	"M":     func(t time.Time) string { return strconv.Itoa(int(t.Month())) },
	"Mo":    func(t time.Time) string { return ordinal(int(t.Month())) },
	"MM":    func(t time.Time) string { return zeroFill(int(t.Month()), 2, false) },
	"MMM":   func(t time.Time) string { return monthNames[t.Month()-1][:3] },
	"MMMM":  func(t time.Time) string { return monthNames[t.Month()-1] },
	"Q":     func(t time.Time) string { return strconv.Itoa((int(t.Month())-1)/3 + 1) },
	"Qo":    func(t time.Time) string { return ordinal((int(t.Month())-1)/3 + 1) },
	"D":     func(t time.Time) string { return strconv.Itoa(t.Day()) },
	"Do":    func(t time.Time) string { return ordinal(t.Day()) },
	"DD":    func(t time.Time) string { return zeroFill(t.Day(), 2, false) },
	"DDD":   func(t time.Time) string { return strconv.Itoa(t.YearDay()) },
	"DDDo":  func(t time.Time) string { return ordinal(t.YearDay()) },
	"DDDD":  func(t time.Time) string { return zeroFill(t.YearDay(), 3, false) },
	"d":     func(t time.Time) string { return strconv.Itoa(int(t.Weekday())) },
	"do":    func(t time.Time) string { return ordinal(int(t.Weekday())) },
	"dd":    func(t time.Time) string { return dayNames[t.Weekday()][:2] },
	"ddd":   func(t time.Time) string { return dayNames[t.Weekday()][:3] },
	"dddd":  func(t time.Time) string { return dayNames[t.Weekday()] },
	"e":     func(t time.Time) string { return strconv.Itoa(int(t.Weekday())) },
	"E":     func(t time.Time) string { return strconv.Itoa((int(t.Weekday())+6)%7 + 1) },
	"w":     func(t time.Time) string { _, w := localeWeek(t); return strconv.Itoa(w) },
	"wo":    func(t time.Time) string { _, w := localeWeek(t); return ordinal(w) },
	"ww":    func(t time.Time) string { _, w := localeWeek(t); return zeroFill(w, 2, false) },
	"W":     func(t time.Time) string { _, w := t.ISOWeek(); return strconv.Itoa(w) },
	"Wo":    func(t time.Time) string { _, w := t.ISOWeek(); return ordinal(w) },
	"WW":    func(t time.Time) string { _, w := t.ISOWeek(); return zeroFill(w, 2, false) },
	"gg":    func(t time.Time) string { y, _ := localeWeek(t); return zeroFill(y%100, 2, false) },
	"gggg":  func(t time.Time) string { y, _ := localeWeek(t); return zeroFill(y, 4, false) },
	"ggggg": func(t time.Time) string { y, _ := localeWeek(t); return zeroFill(y, 5, false) },
	"GG":    func(t time.Time) string { y, _ := t.ISOWeek(); return zeroFill(y%100, 2, false) },
	"GGGG":  func(t time.Time) string { y, _ := t.ISOWeek(); return zeroFill(y, 4, false) },
	"GGGGG": func(t time.Time) string { y, _ := t.ISOWeek(); return zeroFill(y, 5, false) },
	"Y": func(t time.Time) string {
		if t.Year() <= 9999 {
			return zeroFill(t.Year(), 4, false)
		}
		return "+" + strconv.Itoa(t.Year())
	},
	"YY":     func(t time.Time) string { return zeroFill(t.Year()%100, 2, false) },
	"YYYY":   func(t time.Time) string { return zeroFill(t.Year(), 4, false) },
	"YYYYY":  func(t time.Time) string { return zeroFill(t.Year(), 5, false) },
	"YYYYYY": func(t time.Time) string { return zeroFill(t.Year(), 6, true) },
	"y":      func(t time.Time) string { return strconv.Itoa(t.Year()) },
	"yy":     func(t time.Time) string { return zeroFill(t.Year(), 2, false) },
	"yyy":    func(t time.Time) string { return zeroFill(t.Year(), 3, false) },
	"yyyy":   func(t time.Time) string { return zeroFill(t.Year(), 4, false) },
	"yo":     func(t time.Time) string { return ordinal(t.Year()) },
	"N":      func(time.Time) string { return "AD" },
	"NN":     func(time.Time) string { return "AD" },
	"NNN":    func(time.Time) string { return "AD" },
	"NNNN":   func(time.Time) string { return "Anno Domini" },
	"NNNNN":  func(time.Time) string { return "AD" },
	"a": func(t time.Time) string {
		if t.Hour() < 12 {
			return "am"
		}
		return "pm"
	},
	"A": func(t time.Time) string {
		if t.Hour() < 12 {
			return "AM"
		}
		return "PM"
	},
	"H":  func(t time.Time) string { return strconv.Itoa(t.Hour()) },
	"HH": func(t time.Time) string { return zeroFill(t.Hour(), 2, false) },
	"h":  func(t time.Time) string { return strconv.Itoa(hour12(t)) },
	"hh": func(t time.Time) string { return zeroFill(hour12(t), 2, false) },
	"k": func(t time.Time) string {
		if t.Hour() == 0 {
			return "24"
		}
		return strconv.Itoa(t.Hour())
	},
	"kk": func(t time.Time) string {
		if t.Hour() == 0 {
			return "24"
		}
		return zeroFill(t.Hour(), 2, false)
	},
	"Hmm": func(t time.Time) string { return strconv.Itoa(t.Hour()) + zeroFill(t.Minute(), 2, false) },
	"Hmmss": func(t time.Time) string {
		return strconv.Itoa(t.Hour()) + zeroFill(t.Minute(), 2, false) + zeroFill(t.Second(), 2, false)
	},
	"hmm": func(t time.Time) string { return strconv.Itoa(hour12(t)) + zeroFill(t.Minute(), 2, false) },
	"hmmss": func(t time.Time) string {
		return strconv.Itoa(hour12(t)) + zeroFill(t.Minute(), 2, false) + zeroFill(t.Second(), 2, false)
	},
	"m":  func(t time.Time) string { return strconv.Itoa(t.Minute()) },
	"mm": func(t time.Time) string { return zeroFill(t.Minute(), 2, false) },
	"s":  func(t time.Time) string { return strconv.Itoa(t.Second()) },
	"ss": func(t time.Time) string { return zeroFill(t.Second(), 2, false) },
	"X":  func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
	"x":  func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
	"z":  func(t time.Time) string { n, _ := t.Zone(); return n },
	"zz": func(t time.Time) string { n, _ := t.Zone(); return n },
	"Z":  func(t time.Time) string { return zoneOffset(t, ":") },
	"ZZ": func(t time.Time) string { return zoneOffset(t, "") },
}

func init() {
	for n := 1; n <= 9; n++ {
		momentFuncs[strings.Repeat("S", n)] = func(t time.Time) string { return fraction(t, n) }
	}
}
