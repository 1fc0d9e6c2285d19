package lint

import "strings"

// spdxLicenses holds common SPDX license identifiers, lower-cased. The list
// covers the licenses seen in practice; see docs/lint.md for the limits.
var spdxLicenses = lowerSet(
	"0BSD", "AAL", "AFL-1.1", "AFL-1.2", "AFL-2.0", "AFL-2.1", "AFL-3.0", "AGPL-1.0", "AGPL-1.0-only",
	"AGPL-1.0-or-later", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "APSL-1.0", "APSL-1.1", "APSL-1.2",
	"APSL-2.0", "Apache-1.0", "Apache-1.1", "Apache-2.0", "Artistic-1.0", "Artistic-1.0-Perl",
	"Artistic-1.0-cl8", "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-2-Clause-Patent",
	"BSD-2-Clause-Views", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSD-3-Clause-LBNL",
	"BSD-3-Clause-No-Nuclear-License", "BSD-3-Clause-Attribution", "BSD-4-Clause", "BSD-4-Clause-UC",
	"BSD-Protection", "BSD-Source-Code", "BSL-1.0", "BUSL-1.1", "BlueOak-1.0.0", "CAL-1.0", "CATOSL-1.1",
	"CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0",
	"CC-BY-ND-4.0", "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0",
	"CDDL-1.0", "CDDL-1.1", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "CECILL-1.0",
	"CECILL-1.1", "CECILL-2.0", "CECILL-2.1", "CECILL-B", "CECILL-C", "CERN-OHL-P-2.0", "CERN-OHL-S-2.0",
	"CERN-OHL-W-2.0", "CPAL-1.0", "CPL-1.0", "CUA-OPL-1.0", "ECL-1.0", "ECL-2.0", "EFL-1.0", "EFL-2.0",
	"EPL-1.0", "EPL-2.0", "EUDatagrid", "EUPL-1.0", "EUPL-1.1", "EUPL-1.2", "Entessa", "FSFAP", "FSFUL",
	"FSFULLR", "FTL", "Fair", "Frameworx-1.0", "GFDL-1.1", "GFDL-1.1-only", "GFDL-1.1-or-later", "GFDL-1.2",
	"GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3", "GFDL-1.3-only", "GFDL-1.3-or-later", "GPL-1.0",
	"GPL-1.0+", "GPL-1.0-only", "GPL-1.0-or-later", "GPL-2.0", "GPL-2.0+", "GPL-2.0-only", "GPL-2.0-or-later",
	"GPL-2.0-with-classpath-exception", "GPL-3.0", "GPL-3.0+", "GPL-3.0-only", "GPL-3.0-or-later", "HPND",
	"ICU", "IJG", "IPA", "IPL-1.0", "ISC", "Intel", "JSON", "LGPL-2.0", "LGPL-2.0+", "LGPL-2.0-only",
	"LGPL-2.0-or-later", "LGPL-2.1", "LGPL-2.1+", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0", "LGPL-3.0+",
	"LGPL-3.0-only", "LGPL-3.0-or-later", "LGPLLR", "LPL-1.0", "LPL-1.02", "LPPL-1.3a", "LPPL-1.3c",
	"LiLiQ-P-1.1", "LiLiQ-R-1.1", "LiLiQ-Rplus-1.1", "MIT", "MIT-0", "MIT-CMU", "MIT-Modern-Variant",
	"MIT-advertising", "MIT-enna", "MIT-feh", "MPL-1.0", "MPL-1.1", "MPL-2.0", "MPL-2.0-no-copyleft-exception",
	"MS-PL", "MS-RL", "MirOS", "Motosoto", "MulanPSL-1.0", "MulanPSL-2.0", "Multics", "NASA-1.3", "NCSA",
	"NGPL", "NPL-1.0", "NPL-1.1", "NPOSL-3.0", "NTP", "Naumen", "Nokia", "OCLC-2.0", "ODC-By-1.0", "ODbL-1.0",
	"OFL-1.0", "OFL-1.1", "OGL-UK-3.0", "OGTSL", "OLDAP-2.8", "OPL-1.0", "OSET-PL-2.1", "OSL-1.0", "OSL-1.1",
	"OSL-2.0", "OSL-2.1", "OSL-3.0", "OpenSSL", "PDDL-1.0", "PHP-3.0", "PHP-3.01", "PSF-2.0", "PostgreSQL",
	"Python-2.0", "Python-2.0.1", "QPL-1.0", "RPL-1.1", "RPL-1.5", "RPSL-1.0", "RSCPL", "Ruby", "SGI-B-2.0",
	"SISSL", "SISSL-1.2", "SMLNJ", "SPL-1.0", "SSPL-1.0", "SimPL-2.0", "Sleepycat", "UCL-1.0", "UPL-1.0",
	"Unicode-DFS-2015", "Unicode-DFS-2016", "Unicode-3.0", "Unlicense", "VSL-1.0", "Vim", "W3C", "W3C-19980720",
	"W3C-20150513", "WTFPL", "Watcom-1.0", "X11", "XFree86-1.1", "Xnet", "YPL-1.1", "ZPL-1.1", "ZPL-2.0",
	"ZPL-2.1", "Zend-2.0", "Zlib", "blessing", "bzip2-1.0.6", "curl", "eCos-2.0", "gnuplot", "libpng",
	"libpng-2.0", "libtiff", "wxWindows", "zlib-acknowledgement", "Beerware", "CNRI-Python", "ErlPL-1.1",
	"MIT-open-group", "Elastic-2.0", "PolyForm-Noncommercial-1.0.0", "PolyForm-Small-Business-1.0.0",
	"Hippocratic-2.1", "Parity-6.0.0", "Parity-7.0.0", "etalab-2.0", "OGL-Canada-2.0", "NLOD-1.0", "NLOD-2.0",
	"DL-DE-BY-2.0", "Apache-2.0-with-LLVM-exception",
)

var spdxExceptions = lowerSet(
	"Autoconf-exception-2.0", "Autoconf-exception-3.0", "Bison-exception-2.2", "Classpath-exception-2.0",
	"FLTK-exception", "GCC-exception-2.0", "GCC-exception-3.1", "LLVM-exception", "Linux-syscall-note",
	"OpenJDK-assembly-exception-1.0", "Qt-GPL-exception-1.0", "Qt-LGPL-exception-1.1",
	"Universal-FOSS-exception-1.0", "WxWindows-exception-3.1", "Font-exception-2.0", "GPL-CC-1.0",
	"eCos-exception-2.0", "freertos-exception-2.0", "i2p-gpl-java-exception", "mif-exception",
	"openvpn-openssl-exception", "u-boot-exception-2.0", "389-exception",
)

func lowerSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[strings.ToLower(w)] = true
	}
	return m
}
