#!/usr/bin/env bash
# Install what the briefing pack (critmin brief; docs/brief.md) and its tests need, from apt:
# Noto fonts (fonts-noto-core: Latin/Greek/Cyrillic; fonts-noto-cjk: Japanese) that Typst embeds
# in the PDF, and poppler-utils (pdftoppm renders pages to PNG, pdffonts lists embedded fonts).
# Nothing is downloaded at run time; Typst is given the Debian font directory explicitly.
set -euo pipefail
need=0
for f in /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf \
         /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc; do
  [ -f "$f" ] || need=1
done
command -v pdftoppm >/dev/null 2>&1 || need=1
command -v pdffonts >/dev/null 2>&1 || need=1
if [ "$need" = "0" ]; then
  echo "brief dependencies already installed (Noto, Noto CJK, poppler-utils)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends fonts-noto-core fonts-noto-cjk poppler-utils >/dev/null
echo "installed: fonts-noto-core fonts-noto-cjk poppler-utils ($(pdftoppm -v 2>&1 | head -1))"
