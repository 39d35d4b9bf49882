// Loaded first on every page. The Content-Security-Policy forbids inline style attributes
// (style-src 'self', no 'unsafe-inline'), which also blocks element.setAttribute("style", ...).
// plotly.js (through d3) sets a few styles that way (colour-bar rectangles, heatmap images);
// setting the same declarations through the CSSOM (element.style.cssText) is what the policy
// allows, with the same effect, so setAttribute("style", v) is routed there.
"use strict";
(() => {
  const set = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (typeof name === "string" && name.toLowerCase() === "style" && this.style) {
      this.style.cssText = String(value);
      if (!this.style.cssText) this.removeAttribute("style");
      return undefined;
    }
    return set.call(this, name, value);
  };
})();
