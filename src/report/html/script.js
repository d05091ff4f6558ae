// Filters findings by severity and area. Without this script the filter bar stays hidden and
// every finding is shown.
(function () {
  var root = document.documentElement;
  var bar = document.getElementById("filters");
  if (bar) {
    var boxes = Array.prototype.slice.call(bar.querySelectorAll("input[type=checkbox]"));
    var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
    var count = document.getElementById("filter-count");
    var apply = function () {
      var off = {};
      boxes.forEach(function (box) {
        if (!box.checked) off[box.name + ":" + box.value] = true;
      });
      var shown = 0;
      findings.forEach(function (finding) {
        var hide = off["severity:" + finding.getAttribute("data-severity")] ||
          off["area:" + finding.getAttribute("data-area")];
        finding.hidden = !!hide;
        if (!hide) shown += 1;
      });
      count.textContent = count.getAttribute("data-template")
        .replace("{shown}", String(shown))
        .replace("{total}", String(findings.length));
    };
    boxes.forEach(function (box) { box.addEventListener("change", apply); });
    bar.hidden = false;
    apply();
  }
  root.setAttribute("data-script", "ran");
})();
