/* An in-page stand-in for office.js in tests: Office (onReady, document settings, actions, the shared
 * runtime's Office.addin) and the subset of the Excel JavaScript API the SheetDL task pane uses, over a
 * small workbook model (sheets with a grid of values, formats, conditional formats, charts, pictures,
 * frozen panes).
 *
 * Like Excel it checks what it is given: a values/numberFormat array must match the range's shape,
 * sheet names are at most 31 characters and unique, a missing sheet is an error, a picture must be a
 * PNG/JPEG/GIF/BMP in base64 and its size positive, a range's left/top are read only after load+sync,
 * and it measures the largest request (between two context.sync() calls) against Excel on the web's
 * ~5 MB cap. Cells are 48 × 15 points unless a column width or row height was set (Excel's defaults).
 * Fill it before the page loads:
 *   window.__SHEETDL_MOCK__ = { sheets: [{ name, rows: [[...], ...] }], active: 0, excelApi: "1.9" };
 * (excelApi: the newest ExcelApi requirement set this "Excel" supports; default "1.17").
 */
(function () {
  "use strict";
  var seed = window.__SHEETDL_MOCK__ || { sheets: [{ name: "Sheet1", rows: [] }] };
  var EXCEL_API = seed.excelApi || "1.17";
  var COLUMN_POINTS = 48, ROW_POINTS = 15;  // Excel's default column width and row height, in points
  var IMAGE_HEADS = ["iVBORw0KGgo", "/9j/", "R0lGOD", "Qk"];  // base64 of PNG, JPEG, GIF, BMP heads

  function versionAtMost(v, max) {
    var a = String(v).split(".").map(Number), b = String(max).split(".").map(Number);
    return a[0] < b[0] || (a[0] === b[0] && (a[1] || 0) <= (b[1] || 0));
  }

  function colLetter(n) { var s = ""; while (n > 0) { var m = (n - 1) % 26; s = String.fromCharCode(65 + m) + s; n = Math.floor((n - 1) / 26); } return s; }
  function colIndex(l) { var n = 0; for (var i = 0; i < l.length; i++) n = n * 26 + l.charCodeAt(i) - 64; return n; }
  function parseA1(ref) {
    ref = ref.replace(/\$/g, "");
    if (ref.indexOf("!") >= 0) ref = ref.split("!")[1];
    var parts = ref.split(":");
    function one(a) { var m = /^([A-Z]+)(\d+)$/.exec(a); if (!m) throw new Error("InvalidArgument: bad address " + ref); return [Number(m[2]) - 1, colIndex(m[1]) - 1]; }
    var a = one(parts[0]), b = one(parts[1] || parts[0]);
    return { r: Math.min(a[0], b[0]), c: Math.min(a[1], b[1]), nr: Math.abs(b[0] - a[0]) + 1, nc: Math.abs(b[1] - a[1]) + 1 };
  }

  var stats = { syncs: 0, requestBytes: 0, maxRequestBytes: 0, errors: [] };
  function cost(x) { stats.requestBytes += JSON.stringify(x).length; }

  function Sheet(wb, name) {
    this.wb = wb; this.name = name; this.cells = {}; this.formats = {}; this.charts = [];
    this.conditionalFormats = []; this.frozen = { rows: 0, cols: 0 }; this.tabColor = null;
    this.columnWidths = {}; this.rowHeights = {};
    var self = this;
    this.tables = { items: [], load: function () {} };
    this.freezePanes = {
      freezeRows: function (n) { self.frozen = { rows: n, cols: 0 }; },
      freezeColumns: function (n) { self.frozen = { rows: 0, cols: n }; },
      freezeAt: function (range) { self.frozen = { rows: range._nr, cols: range._nc }; }
    };
    this.pictures = [];
    this.shapes = {
      items: this.pictures,
      addImage: function (base64) {
        if (!versionAtMost("1.9", EXCEL_API)) throw new Error("ApiNotFound: shapes need ExcelApi 1.9");
        if (typeof base64 !== "string" || /^data:/.test(base64) || !IMAGE_HEADS.some(function (h) { return base64.indexOf(h) === 0; })) {
          var e = "InvalidArgument: addImage needs a PNG/JPEG/GIF/BMP file as bare base64"; stats.errors.push(e); throw new Error(e);
        }
        var shape = new Shape(self, base64);
        self.pictures.push(shape);
        cost(base64);
        return shape;
      }
    };
    this.charts = [];
    var chartsApi = this.charts;
    chartsApi.add = function (type, range, by) { var ch = new Chart(self, type, range); chartsApi.push(ch); cost([type]); return ch; };
    chartsApi.items = chartsApi;
  }
  Sheet.prototype.load = function () { return this; };
  Sheet.prototype.used = function () {
    var keys = Object.keys(this.cells).filter(function (k) { return this.cells[k] !== "" && this.cells[k] !== null; }, this);
    if (!keys.length) return { r: 0, c: 0, nr: 1, nc: 1 };
    var rs = keys.map(function (k) { return Number(k.split(",")[0]); }), cs = keys.map(function (k) { return Number(k.split(",")[1]); });
    var r0 = Math.min.apply(null, rs), c0 = Math.min.apply(null, cs);
    return { r: r0, c: c0, nr: Math.max.apply(null, rs) - r0 + 1, nc: Math.max.apply(null, cs) - c0 + 1 };
  };
  Sheet.prototype.getUsedRange = function () { var u = this.used(); return new Range(this, u.r, u.c, u.nr, u.nc); };
  Sheet.prototype.getRange = function (ref) { var a = parseA1(ref); return new Range(this, a.r, a.c, a.nr, a.nc); };
  Sheet.prototype.getRangeByIndexes = function (r, c, nr, nc) {
    if (r < 0 || c < 0 || nr < 1 || nc < 1) throw new Error("InvalidArgument: getRangeByIndexes(" + [r, c, nr, nc] + ")");
    return new Range(this, r, c, nr, nc);
  };
  Sheet.prototype.delete = function () { var i = this.wb.sheets.indexOf(this); this.wb.sheets.splice(i, 1); };
  Sheet.prototype.activate = function () { this.wb.active = this.wb.sheets.indexOf(this); };
  Sheet.prototype.value = function (r, c) { var v = this.cells[r + "," + c]; return v === undefined ? "" : v; };
  Sheet.prototype.fmt = function (r, c) { return this.formats[r + "," + c] || (this.formats[r + "," + c] = {}); };
  Sheet.prototype.leftOf = function (c) { var x = 0; for (var j = 0; j < c; j++) x += j in this.columnWidths ? this.columnWidths[j] : COLUMN_POINTS; return x; };
  Sheet.prototype.topOf = function (r) { var y = 0; for (var i = 0; i < r; i++) y += i in this.rowHeights ? this.rowHeights[i] : ROW_POINTS; return y; };

  /** A picture on a sheet: Excel's Shape, as far as the pane uses it (sizes in points). Like Excel's,
   * unless its placement is "Absolute" it moves with the cell its top-left corner is in when columns
   * or rows before it are resized later. */
  function Shape(sheet, base64) {
    var self = this, w = 0, h = 0, col = 0, dx = 0, row = 0, dy = 0, x = 0, y = 0;
    this.sheet = sheet; this.type = "Image"; this.base64 = base64;
    this.altTextDescription = ""; this.placement = "TwoCell"; this.lockAspectRatio = true;
    function cellAt(pos, edge) { var i = 0; while (edge.call(sheet, i + 1) <= pos) i += 1; return i; }
    Object.defineProperty(this, "left", {
      get: function () { return self.placement === "Absolute" ? x : sheet.leftOf(col) + dx; },
      set: function (v) { x = v; col = cellAt(v, sheet.leftOf); dx = v - sheet.leftOf(col); } });
    Object.defineProperty(this, "top", {
      get: function () { return self.placement === "Absolute" ? y : sheet.topOf(row) + dy; },
      set: function (v) { y = v; row = cellAt(v, sheet.topOf); dy = v - sheet.topOf(row); } });
    function positive(v, what) {
      if (typeof v !== "number" || !(v > 0)) { var e = "InvalidArgument: picture " + what + " " + v; stats.errors.push(e); throw new Error(e); }
    }
    // like Excel: with the aspect ratio locked, setting one side rescales the other
    Object.defineProperty(this, "width", { get: function () { return w; }, set: function (v) {
      positive(v, "width"); if (self.lockAspectRatio && w && h) h = h * v / w; w = v; } });
    Object.defineProperty(this, "height", { get: function () { return h; }, set: function (v) {
      positive(v, "height"); if (self.lockAspectRatio && w && h) w = w * v / h; h = v; } });
    // a new picture comes in at its own size (the mock: 72 × 72 points)
    w = 72; h = 72;
  }

  function Range(sheet, r, c, nr, nc) {
    this._sheet = sheet; this._r = r; this._c = c; this._nr = nr; this._nc = nc; this._loaded = {};
    this.rowIndex = r; this.columnIndex = c; this.rowCount = nr; this.columnCount = nc;
    this.address = sheet.name + "!" + colLetter(c + 1) + (r + 1) + (nr * nc > 1 ? ":" + colLetter(c + nc) + (r + nr) : "");
    var self = this;
    function fmtSetter(path) {
      return function (v) { self.each(function (rr, cc) { var f = sheet.fmt(rr, cc); f[path] = v; }); cost([path, v]); };
    }
    var font = {}, fill = {}, format = {};
    ["bold", "italic", "size", "color"].forEach(function (p) { Object.defineProperty(font, p, { set: fmtSetter("font." + p) }); });
    Object.defineProperty(fill, "color", { set: fmtSetter("fill") });
    format.font = font; format.fill = fill;
    Object.defineProperty(format, "wrapText", { set: fmtSetter("wrap") });
    Object.defineProperty(format, "horizontalAlignment", { set: fmtSetter("align") });
    Object.defineProperty(format, "columnWidth", { set: function (w) { for (var j = 0; j < nc; j++) sheet.columnWidths[c + j] = w; } });
    Object.defineProperty(format, "rowHeight", { set: function (h) { for (var i = 0; i < nr; i++) sheet.rowHeights[r + i] = h; } });
    format.borders = { getItem: function (edge) { var o = {}; Object.defineProperty(o, "style", { set: fmtSetter("border." + edge) }); return o; } };
    this.format = format;
    this.conditionalFormats = {
      add: function (type) {
        if (type !== "ColorScale") throw new Error("mock: conditional format " + type + " not modelled");
        var cf = { type: type, range: self.address, colorScale: { criteria: null } };
        sheet.conditionalFormats.push(cf);
        return cf;
      }
    };
  }
  var pendingLoads = [];  // [range, property]: readable after the next context.sync()
  Range.prototype.load = function (what) {
    var self = this;
    String(what || "").split(",").forEach(function (p) { pendingLoads.push([self, p.trim()]); });
    return this;
  };
  // positions (points from the sheet's top-left corner): ExcelApi 1.10, readable only once loaded, like Excel's
  ["left", "top"].forEach(function (p) {
    Object.defineProperty(Range.prototype, p, { get: function () {
      if (!versionAtMost("1.10", EXCEL_API)) { var n = "ApiNotFound: range." + p + " needs ExcelApi 1.10"; stats.errors.push(n); throw new Error(n); }
      if (!this._loaded[p]) { var e = "PropertyNotLoaded: range." + p + " was read before load() and sync()"; stats.errors.push(e); throw new Error(e); }
      return p === "left" ? this._sheet.leftOf(this._c) : this._sheet.topOf(this._r);
    } });
  });
  Range.prototype.each = function (fn) { for (var i = 0; i < this._nr; i++) for (var j = 0; j < this._nc; j++) fn(this._r + i, this._c + j, i, j); };
  Range.prototype.check = function (arr, what) {
    if (!Array.isArray(arr) || arr.length !== this._nr || arr.some(function (row) { return !Array.isArray(row) || row.length !== this._nc; }, this)) {
      var err = "InvalidArgument: " + what + " for " + this.address + " must be " + this._nr + "×" + this._nc;
      stats.errors.push(err);
      throw new Error(err);
    }
  };
  Object.defineProperty(Range.prototype, "values", {
    get: function () { var s = this._sheet, out = []; for (var i = 0; i < this._nr; i++) { var row = []; for (var j = 0; j < this._nc; j++) row.push(s.value(this._r + i, this._c + j)); out.push(row); } return out; },
    set: function (arr) {
      this.check(arr, "values");
      var s = this._sheet;
      this.each(function (r, c, i, j) {
        var v = arr[i][j];
        if (v !== null && typeof v === "object") throw new Error("InvalidArgument: an object in values at " + i + "," + j);
        s.cells[r + "," + c] = v === null ? "" : v;
      });
      cost(arr);
    }
  });
  Object.defineProperty(Range.prototype, "numberFormat", {
    get: function () { var s = this._sheet, out = []; for (var i = 0; i < this._nr; i++) { var row = []; for (var j = 0; j < this._nc; j++) row.push((s.formats[(this._r + i) + "," + (this._c + j)] || {}).numberFormat || "General"); out.push(row); } return out; },
    set: function (arr) { this.check(arr, "numberFormat"); var s = this._sheet; this.each(function (r, c, i, j) { s.fmt(r, c).numberFormat = arr[i][j]; }); cost(arr); }
  });

  function Chart(sheet, type, range) {
    var self = this;
    this.sheet = sheet; this.type = type; this.source = range.address; this.position = null;
    this.title = { text: "" }; this.legend = { visible: true }; this.width = 0; this.height = 0;
    var first = { name: String(sheet.value(range._r, range._c)), values: range.address, xValues: null,
                  setXAxisValues: function (r) { this.xValues = r.address; }, setValues: function (r) { this.values = r.address; } };
    this.seriesList = [first];
    this.series = {
      getItemAt: function (i) { return self.seriesList[i]; },
      add: function (name) { var s = { name: name, values: null, xValues: null, setXAxisValues: first.setXAxisValues, setValues: first.setValues }; self.seriesList.push(s); return s; }
    };
    this.axes = { categoryAxis: { title: { text: "" } }, valueAxis: { title: { text: "" } } };
  }
  Chart.prototype.setPosition = function (a) { this.position = a; };

  function Workbook(seed) {
    var wb = this;
    this.sheets = []; this.active = seed.active || 0;
    (seed.sheets || []).forEach(function (s) {
      var sh = new Sheet(wb, s.name);
      (s.rows || []).forEach(function (row, i) { row.forEach(function (v, j) { if (v !== null && v !== "") sh.cells[i + "," + j] = v; }); });
      Object.keys(s.formats || {}).forEach(function (k) { sh.fmt(Number(k.split(",")[0]), Number(k.split(",")[1])).numberFormat = s.formats[k]; });
      wb.sheets.push(sh);
    });
    var api = {
      load: function () {},
      getActiveWorksheet: function () { return wb.sheets[wb.active]; },
      getItem: function (name) {
        var s = wb.find(name);
        if (!s) { var e = "ItemNotFound: no sheet '" + name + "'"; stats.errors.push(e); throw new Error(e); }
        return s;
      },
      getItemOrNullObject: function (name) { return wb.find(name) || { isNullObject: true }; },
      add: function (name) {
        if (!name || name.length > 31 || /[\[\]:*?\/\\]/.test(name) || wb.find(name)) {
          var e = "InvalidArgument: sheet name '" + name + "'"; stats.errors.push(e); throw new Error(e);
        }
        var s = new Sheet(wb, name); wb.sheets.push(s); return s;
      }
    };
    Object.defineProperty(api, "items", { get: function () { return wb.sheets; } });
    this.worksheets = api;
  }
  Workbook.prototype.find = function (name) {
    for (var i = 0; i < this.sheets.length; i++) if (this.sheets[i].name.toLowerCase() === name.toLowerCase()) return this.sheets[i];
    return null;
  };
  Workbook.prototype.dump = function () {
    return this.sheets.map(function (s) {
      var u = s.used(), grid = [];
      for (var i = 0; i < u.r + u.nr; i++) { var row = []; for (var j = 0; j < u.c + u.nc; j++) row.push(s.value(i, j)); grid.push(row); }
      return { name: s.name, grid: grid, formats: s.formats, charts: s.charts.map(function (c) {
        return { type: c.type, title: c.title.text, position: c.position, series: c.seriesList.map(function (x) { return { name: x.name, values: x.values, xValues: x.xValues }; }),
                 xTitle: c.axes.categoryAxis.title.text, yTitle: c.axes.valueAxis.title.text };
      }), conditionalFormats: s.conditionalFormats, frozen: s.frozen, tabColor: s.tabColor, columnWidths: s.columnWidths,
      rowHeights: s.rowHeights, pictures: s.pictures.map(function (p) {
        return { type: p.type, base64: p.base64, left: p.left, top: p.top, width: p.width, height: p.height,
                 altTextDescription: p.altTextDescription, placement: p.placement };
      }) };
    });
  };

  var workbook = new Workbook(seed);
  var settingsStore = Object.assign({}, seed.settings || {});

  window.Excel = {
    run: function (fn) {
      var ctx = {
        workbook: workbook,
        sync: function () {
          stats.syncs += 1;
          stats.maxRequestBytes = Math.max(stats.maxRequestBytes, stats.requestBytes);
          stats.requestBytes = 0;
          pendingLoads.splice(0).forEach(function (l) { l[0]._loaded[l[1]] = true; });
          return new Promise(function (res) { setTimeout(res, 0); });
        }
      };
      return Promise.resolve().then(function () { return fn(ctx); });
    },
    ConditionalFormatType: { colorScale: "ColorScale" },
    ConditionalFormatColorCriterionType: { lowestValue: "LowestValue", highestValue: "HighestValue", percentile: "Percentile" },
    ChartType: { line: "Line", barClustered: "BarClustered" },
    ChartSeriesBy: { columns: "Columns", auto: "Auto" },
    Placement: { oneCell: "OneCell", twoCell: "TwoCell", absolute: "Absolute" }
  };
  window.Office = {
    HostType: { Excel: "Excel" },
    onReady: function (cb) { var info = { host: "Excel", platform: "OfficeOnline" }; setTimeout(function () { if (cb) cb(info); }, 0); return Promise.resolve(info); },
    context: { document: { settings: {
      get: function (k) { return k in settingsStore ? settingsStore[k] : null; },
      set: function (k, v) { settingsStore[k] = v; },
      saveAsync: function (cb) { window.__SHEETDL_SAVED_SETTINGS__ = JSON.parse(JSON.stringify(settingsStore)); setTimeout(function () { cb && cb({ status: "succeeded" }); }, 0); }
    } }, requirements: { isSetSupported: function (name, version) {
      return name !== "ExcelApi" || versionAtMost(version || "1.1", EXCEL_API);
    } } },
    actions: { associated: {}, associate: function (name, fn) { this.associated[name] = fn; } },
    // the shared runtime: the pane's page stays alive while hidden; tests call __mockShowPane(false/true)
    addin: {
      visible: true, handlers: [],
      showAsTaskpane: function () { return window.__mockShowPane(true); },
      hide: function () { return window.__mockShowPane(false); },
      onVisibilityModeChanged: function (fn) { this.handlers.push(fn); return Promise.resolve(); }
    }
  };
  window.__mockShowPane = function (visible) {
    var addin = window.Office.addin, changed = addin.visible !== visible;
    addin.visible = visible;
    if (changed) addin.handlers.forEach(function (fn) { fn({ visibilityMode: visible ? "Taskpane" : "Hidden" }); });
    return Promise.resolve();
  };
  window.__mockWorkbook = workbook;
  window.__mockStats = stats;
  window.__mockSettings = settingsStore;
})();
