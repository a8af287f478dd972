/* SheetDL task pane: reads the active sheet through the Excel JavaScript API, sends it to the local
 * SheetDL server as a job (rows in chunks), follows the training's progress (server-sent events), and
 * applies the returned SheetEdits to the workbook, in chunks. No build step, no framework.
 *
 * One JSON dialect with the server: see sheetdl/edits.py (ops, 1-based rows/cols, A1 refs, "RRGGBB").
 */
(function () {
  "use strict";

  /** A problem to show in the pane: the message, and what to do.
   * @typedef {Error & {hint?: string, detail?: any, cancelled?: boolean}} PaneError */
  /** One edit from the server (sheetdl/sheets/edits.py), as JSON: its `op` says which fields it has.
   * @typedef {Object<string, any>} SheetEdit */

  /** the per-install token: `sheetdl addin install` puts it in the pane's URL (?t=) in the manifest */
  var TOKEN = new URLSearchParams(location.search).get("t") || "";
  var SETTINGS_ID = "sheetdl.workbookId";
  var SETTINGS_TARGET = "sheetdl.target";
  var SETTINGS_MODEL = "sheetdl.model";
  /** rows read from the sheet per Excel request, and rows per upload (Excel on the web caps a request near 5 MB) */
  var TUNING = window.__SHEETDL_TUNING__ || {};  // tests make the chunks small to exercise them
  var READ_ROWS = TUNING.readRows || 5000;
  var UPLOAD_BYTES = 2 * 1024 * 1024;
  var SAMPLE_ROWS = 2000;
  /** rows whose number formats are read to find date columns */
  var FORMAT_ROWS = 50;
  /** Excel operations queued before each context.sync() when applying edits */
  var OPS_PER_SYNC = 40;
  /** cells written per request: well under Excel on the web's ~5 MB, even with long texts */
  var CELLS_PER_SYNC = TUNING.cellsPerSync || 20000;
  /** pictures' base64 text per request, well under that cap too */
  var PICTURE_BYTES_PER_SYNC = 2 * 1024 * 1024;
  /** points per pixel: SheetEdits size pictures in pixels at 96 dpi, Excel in points */
  var POINTS_PER_PIXEL = 0.75;
  var COLORS = ["#217346", "#2b88d8", "#c239b3", "#ca5010", "#8764b8"];

  var state = {
    view: "train", table: null, schema: null, ignored: {}, job: null, curve: {}, busy: false,
    lastSummary: [], reportSheet: null, skippedPictures: 0, messageView: null
  };

  // ---------------------------------------------------------------------------------------------
  // server
  function api(method, path, body) {
    var init = { method: method, headers: { "X-SheetDL-Token": TOKEN } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { message: text }; }
        if (!r.ok) {
          var err = /** @type {PaneError} */ (new Error((data && data.message) || ("The server answered " + r.status)));
          err.hint = data && data.hint;
          err.detail = data;
          throw err;
        }
        return data;
      });
    });
  }

  /** Server-sent events over fetch (EventSource can't send the token header). */
  function followEvents(jobId, onEvent) {
    var since = 0;
    function attempt() {
      return fetch("/api/jobs/" + jobId + "/events?since=" + since, { headers: { "X-SheetDL-Token": TOKEN } })
        .then(function (r) {
          if (!r.ok || !r.body || !r.body.getReader) return poll();
          var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = "", finished = false;
          function pump() {
            return reader.read().then(function (chunk) {
              if (chunk.done) return finished ? null : attempt();
              buffer += decoder.decode(chunk.value, { stream: true });
              var parts = buffer.split("\n\n");
              buffer = parts.pop();
              parts.forEach(function (block) {
                var data = block.split("\n").filter(function (l) { return l.indexOf("data:") === 0; })
                  .map(function (l) { return l.slice(5); }).join("\n");
                if (!data) return;
                var ev = JSON.parse(data);
                since = ev.id + 1;
                if (["done", "failed", "cancelled"].indexOf(ev.type) >= 0) finished = true;
                onEvent(ev);
              });
              return pump();
            });
          }
          return pump();
        });
    }
    function poll() {  // no streaming in this web view: ask every second
      return api("GET", "/api/jobs/" + jobId).then(function (st) {
        if (st.progress) onEvent(Object.assign({ type: "progress" }, st.progress));
        if (st.state === "queued") onEvent({ type: "queued", position: st.position });
        if (st.state === "done") return onEvent({ type: "done", summary: st.summary, pages: st.pages });
        if (st.state === "failed" || st.state === "cancelled") return onEvent({ type: st.state, error: st.error });
        return new Promise(function (res) { setTimeout(res, 1000); }).then(poll);
      });
    }
    return attempt();
  }

  function checkServer() {
    var el = $("server");
    return api("GET", "/api/health").then(function (h) {
      el.textContent = "server " + h.version; el.className = "server ok";
    }, function () {
      el.textContent = "server not reachable"; el.className = "server down";
    });
  }

  // ---------------------------------------------------------------------------------------------
  // reading the sheet
  function colLetter(n) {  // 1 → A
    var s = "";
    while (n > 0) { var m = (n - 1) % 26; s = String.fromCharCode(65 + m) + s; n = Math.floor((n - 1) / 26); }
    return s;
  }

  function isBlank(v) { return v === null || v === undefined || v === ""; }

  /** The header: the first row (of the first 20) whose filled cells are mostly text, filling most columns. */
  function findHeader(rows) {
    var width = rows.reduce(function (w, r) { return Math.max(w, r.length); }, 0);
    for (var i = 0; i < Math.min(rows.length, 20); i++) {
      var filled = rows[i].filter(function (v) { return !isBlank(v); });
      var text = filled.filter(function (v) { return typeof v === "string"; });
      if (filled.length >= Math.max(1, Math.ceil(width / 2)) && text.length >= filled.length * 0.8) return i;
    }
    return 0;
  }

  /** Columns formatted as dates (below the header) get ISO text, which SheetDL reads as dates. */
  function datesToText(rows, h, formats) {
    var width = rows.length ? rows[h].length : 0;
    for (var j = 0; j < width; j++) {
      var fmt = null;
      for (var i = h + 1; i < formats.length && fmt === null; i++) {
        if (typeof rows[i][j] === "number") fmt = String((formats[i] || [])[j] || "");
      }
      if (!fmt || !isDateFormat(fmt)) continue;
      var withTime = /h/i.test(fmt.replace(/"[^"]*"/g, ""));
      for (var k = h + 1; k < rows.length; k++) {
        var v = rows[k][j];
        if (typeof v !== "number" || !isFinite(v)) continue;
        var iso = new Date(Math.round((v - 25569) * 86400000)).toISOString();
        rows[k][j] = withTime ? iso.slice(0, 19).replace("T", " ") : iso.slice(0, 10);
      }
    }
  }

  function isDateFormat(fmt) {
    var f = fmt.replace(/"[^"]*"|\[^\]*\]|\\./g, "").toLowerCase();  // quoted text, [colours], escapes
    return /[dy]/.test(f) || /(^|[^h:])m{3,}/.test(f);
  }

  function readTable() {
    return Excel.run(function (ctx) {
      var sheets = ctx.workbook.worksheets;
      sheets.load("items/name");
      var sheet = sheets.getActiveWorksheet();
      sheet.load("name");
      var tables = sheet.tables;
      tables.load("items/name");
      var used = sheet.getUsedRange(true);
      used.load("address,rowIndex,columnIndex,rowCount,columnCount");
      return ctx.sync().then(function () {
        var region = used, tableName = null;
        if (tables.items.length) {
          tableName = tables.items[0].name;
          region = tables.items[0].getRange();
          region.load("address,rowIndex,columnIndex,rowCount,columnCount");
        }
        return ctx.sync().then(function () {
          var reads = [];
          // number formats of the first rows: Excel gives dates as serial numbers, their format says which
          var formats = sheet.getRangeByIndexes(region.rowIndex, region.columnIndex,
            Math.min(FORMAT_ROWS, region.rowCount), region.columnCount);
          formats.load("numberFormat");
          for (var r = 0; r < region.rowCount; r += READ_ROWS) {
            var part = sheet.getRangeByIndexes(region.rowIndex + r, region.columnIndex,
              Math.min(READ_ROWS, region.rowCount - r), region.columnCount);
            part.load("values");
            reads.push(part);
          }
          return ctx.sync().then(function () {
            var rows = [];
            reads.forEach(function (p) { rows = rows.concat(p.values); });
            var h = findHeader(rows);
            datesToText(rows, h, formats.numberFormat || []);
            return {
              sheet: sheet.name, tableName: tableName, address: region.address,
              headerRow: region.rowIndex + h + 1, firstCol: region.columnIndex + 1,
              sheetMaxCol: used.columnIndex + used.columnCount,
              columns: rows[h].map(function (v, j) { return isBlank(v) ? "Column " + colLetter(region.columnIndex + j + 1) : String(v).trim(); }),
              rows: rows.slice(h + 1),
              sheets: sheets.items.map(function (s) { return s.name; })
            };
          });
        });
      });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // the train view
  function showTable() {
    var t = state.table;
    var n = t.rows.length;
    var shortAddress = t.address.indexOf("!") >= 0 ? t.address.split("!")[1] : t.address;
    clear($("table-info"));
    $("table-info").appendChild(textLine("Sheet '" + t.sheet + "'" + (t.tableName ? ", table " + t.tableName : "") +
      " · " + shortAddress + " · " + n.toLocaleString() + " rows"));
  }

  function loadSchema(target) {
    var t = state.table;
    return api("POST", "/api/schema", {
      sheet: t.sheet, columns: t.columns, rows: t.rows.slice(0, SAMPLE_ROWS), target: target || null,
      ignore: Object.keys(state.ignored).filter(function (k) { return state.ignored[k]; })
    }).then(function (s) {
      state.schema = s;
      hideMessage();
      renderSchema();
    }, function (err) {
      // the column to predict can't be learned (all blank, one value…): still offer every column,
      // so another can be chosen right here
      state.schema = null;
      renderTargetChoice(target || (err.detail && err.detail.column));
      throw err;
    });
  }

  function renderTargetChoice(selected) {
    var sel = $("target");
    clear(sel);
    state.table.columns.forEach(function (name) {
      var o = document.createElement("option");
      o.value = name; o.textContent = name; o.selected = name === selected;
      sel.appendChild(o);
    });
    $("task").textContent = "Choose the column to predict; its kind and the other columns appear then.";
    clear($("columns"));
    button("train").disabled = true;
  }

  function renderSchema() {
    var s = state.schema, sel = $("target"), list = $("columns");
    clear(sel);
    s.columns.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c.name; o.textContent = c.name; o.selected = c.name === s.target;
      sel.appendChild(o);
    });
    $("task").textContent = s.task_reason || "";
    // confidence (and so review marks) exists for categories only
    $("review-field").hidden = s.task === "regression";
    // fine-tuning only means something when a picture column feeds the model
    $("fine-tune-field").hidden = !s.columns.some(function (c) { return c.kind === "image" && c.role !== "target"; });
    clear(list);
    s.columns.forEach(function (c) {
      var li = document.createElement("li");
      var isTarget = c.name === s.target;
      var auto = c.role === "ignored" && !state.ignored[c.name];
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !state.ignored[c.name] && c.role !== "ignored";
      box.disabled = isTarget || auto;
      box.title = isTarget ? "the column to predict" : c.reason;
      box.setAttribute("aria-label", "use " + c.name);
      box.addEventListener("change", function () {
        state.ignored[c.name] = !box.checked;
        li.classList.toggle("off", !box.checked);
      });
      var name = document.createElement("span");
      name.className = "name"; name.textContent = c.name; name.title = c.reason;
      var kind = document.createElement("span");
      kind.className = "kind " + (isTarget ? "target" : c.kind);
      kind.textContent = isTarget ? "to predict" : kindWords(c.kind);
      li.className = (box.checked || isTarget ? "" : "off") + (isTarget ? " target" : "");
      li.appendChild(box); li.appendChild(name); li.appendChild(kind);
      list.appendChild(li);
    });
    button("train").disabled = state.busy;
  }

  function kindWords(kind) {
    return { number: "number", category: "category", boolean: "yes/no", date: "date", text: "text",
             image: "image", id: "identifier", constant: "constant" }[kind] || kind;
  }

  // the refresh under way, if any; a request made meanwhile reads the sheet once more when it ends
  // (the sheet may have changed since that one read it), so bursts of requests cost two reads
  var reading = null, readAgain = false;

  function refresh() {
    if (reading) { readAgain = true; return reading; }
    var view = state.view;  // what the sheet was read for: a problem shows there
    hideMessage();
    $("table-info").textContent = "Reading the active sheet…";
    reading = readTable().then(function (t) {
      state.table = t;
      showTable();
      if (!t.rows.length) throw Object.assign(new Error("The active sheet has a header but no rows below it."),
        { hint: "Select the sheet that holds your data, then Refresh." });
      // the column preview only matters for training: its problems show in the Train view
      return loadSchema(settingsGet(SETTINGS_TARGET)).catch(function (e) { showError(e, "train"); });
    }).catch(function (e) { showError(e, view); }).then(function () {
      reading = null;
      if (readAgain) { readAgain = false; return refresh(); }
    });
    return reading;
  }

  // ---------------------------------------------------------------------------------------------
  // jobs
  function runJob(kind) {
    if (state.busy) return;
    hideMessage();
    var t = state.table;
    if (!t) return;
    var target = fieldValue("target");
    var ignore = Object.keys(state.ignored).filter(function (k) { return state.ignored[k] && k !== target; });
    setBusy(true);
    state.curve = {};
    drawCurve();
    $("result").hidden = true;
    $("run").hidden = false;
    $("run-title").textContent = kind === "train" ? "Training" : "Predicting";
    progressText("Sending " + t.rows.length.toLocaleString() + " rows to SheetDL…", 0, "");
    var body = {
      kind: kind, workbook_id: workbookId(), sheet: t.sheet, header_row: t.headerRow, first_col: t.firstCol,
      columns: t.columns, n_rows: t.rows.length, sheet_max_col: t.sheetMaxCol, existing_sheets: t.sheets,
      target: kind === "train" ? target : null, ignore: kind === "train" ? ignore : [],
      time_budget: Number(fieldValue("budget")),
      review_threshold: fieldValue("review") ? Number(fieldValue("review")) : null,
      fine_tune: fieldValue("fine-tune")
    };
    if (kind === "train") settingsSet(SETTINGS_TARGET, target);
    return api("POST", "/api/jobs", body).then(function (created) {
      state.job = created.job_id;
      return upload(created.job_id, t.rows, created.chunk_rows);
    }).then(function () {
      return api("POST", "/api/jobs/" + state.job + "/start");
    }).then(function () {
      return new Promise(function (resolve, reject) {
        followEvents(state.job, function (ev) { onEvent(ev, resolve, reject); }).catch(reject);
      });
    }).then(function (done) {
      return applyAll(state.job, done).then(function () {
        if (kind === "train") {
          settingsSet(SETTINGS_MODEL, JSON.stringify({ target: target, sheet: t.sheet, trained: new Date().toISOString() }));
        }
        return settingsSave();
      }).then(function () { showResult((done.summary || []).concat(skippedNote())); });
    }).catch(showError).then(function () { setBusy(false); state.job = null; showPredictInfo(); });
  }

  function upload(jobId, rows, maxRows) {
    var width = Math.max(1, JSON.stringify(rows.slice(0, 200)).length / Math.max(1, Math.min(200, rows.length)));
    var per = TUNING.uploadRows || Math.max(500, Math.min(maxRows || 20000, Math.floor(UPLOAD_BYTES / width)));
    var start = 0;
    function next() {
      if (start >= rows.length) return Promise.resolve();
      var part = rows.slice(start, start + per).map(function (r) { return r.map(cellOut); });
      var at = start;
      start += per;
      return api("POST", "/api/jobs/" + jobId + "/rows", { start: at, rows: part }).then(function () {
        progressText("Sending rows… " + Math.min(start, rows.length).toLocaleString() + " of " +
          rows.length.toLocaleString(), 0, "");
        return next();
      });
    }
    return next();
  }

  function cellOut(v) {
    if (typeof v === "number" && !isFinite(v)) return null;
    if (v === undefined) return null;
    return v;
  }

  function onEvent(ev, resolve, reject) {
    if (ev.type === "queued") {
      progressText(ev.position > 1 ? "Waiting: " + ev.position + " in line" : "Waiting for the training before this one",
        0, "");
    } else if (ev.type === "started") {
      progressText(ev.message + "…", 0.01, "");
    } else if (ev.type === "progress") {
      var detail = ev.stage === "training"
        ? "Fold " + ev.fold + " of " + ev.n_folds + " · epoch " + ev.epoch +
          (ev.valid_score !== null && ev.valid_score !== undefined ? " · validation " + ev.score_name + " " + scoreText(ev) : "")
        : (ev.message || ev.stage);
      var eta = ev.remaining !== null && ev.remaining !== undefined ? "about " + duration(ev.remaining) + " left" : "";
      progressText(detail, ev.fraction || 0, eta);
    } else if (ev.type === "curve") {
      (state.curve[ev.fold] = state.curve[ev.fold] || []).push([ev.epoch, ev.valid_score]);
      drawCurve();
    } else if (ev.type === "done") {
      progressText("Writing the results into the workbook…", 1, "");
      resolve(ev);
    } else if (ev.type === "failed" || ev.type === "cancelled") {
      var e = /** @type {PaneError} */ (new Error((ev.error && ev.error.message) || ev.message || "The run stopped."));
      e.hint = ev.error && ev.error.hint;
      e.cancelled = ev.type === "cancelled";
      reject(e);
    }
  }

  function skippedNote() {
    var n = state.skippedPictures;
    return n ? [n + (n === 1 ? " picture was" : " pictures were") + " left out: this version of Excel can't add " +
      "pictures from an add-in (it needs Excel 2021, Excel for Microsoft 365 or Excel on the web)."] : [];
  }

  function scoreText(ev) {
    return ev.score_name === "accuracy" ? Math.round(ev.valid_score * 100) + "%" : ev.valid_score.toFixed(2);
  }

  function duration(s) {
    s = Math.max(0, Math.round(s));
    return s < 90 ? s + " s" : Math.round(s / 60) + " min";
  }

  function cancel() {
    if (!state.job) return;
    progressText("Stopping…", null, "");
    api("POST", "/api/jobs/" + state.job + "/cancel").catch(showError);
  }

  // ---------------------------------------------------------------------------------------------
  // applying SheetEdits with the Excel JavaScript API
  function applyAll(jobId, done) {
    var pages = done.pages || 1, page = 0;
    state.skippedPictures = 0;
    function next() {
      if (page >= pages) return Promise.resolve();
      return api("GET", "/api/jobs/" + jobId + "/edits?page=" + page).then(function (res) {
        page += 1;
        progressText("Writing the results… " + page + " of " + pages, 1, "");
        return applyEdits(res.edits);
      }).then(next);
    }
    return next();
  }

  function applyEdits(edits) {
    return Excel.run(function (ctx) {
      var i = 0;
      function batch() {
        if (i >= edits.length) return ctx.sync();
        var ops = 0, cells = 0, bytes = 0;
        while (i < edits.length && ops < OPS_PER_SYNC && cells < CELLS_PER_SYNC && bytes < PICTURE_BYTES_PER_SYNC) {
          var e = edits[i++];
          if (e.op === "add_sheet" && e.name.indexOf("SheetDL Report") === 0) state.reportSheet = e.name;
          var wait = applyEdit(ctx, e);
          if (wait) return wait.then(batch);  // it needed an answer from Excel (and synced)
          ops += 1;
          if (e.op === "write_cells") cells += e.values.length * ((e.values[0] || []).length || 1);
          if (e.op === "add_picture") bytes += e.png.length;
        }
        return ctx.sync().then(batch);
      }
      return batch();
    });
  }

  /** @param {Excel.RequestContext} ctx @param {string} name */
  function sheetOf(ctx, name) { return ctx.workbook.worksheets.getItem(name); }

  /** One edit, queued on ``ctx``; a promise when it had to ask Excel something first (and synced).
   * @param {Excel.RequestContext} ctx @param {SheetEdit} e @returns {Promise<void> | null} */
  function applyEdit(ctx, e) {
    var sheet;
    switch (e.op) {
      case "add_sheet": {
        var existing = ctx.workbook.worksheets.getItemOrNullObject(e.name);
        return ctx.sync().then(function () {
          if (!existing.isNullObject) {
            if (!e.replace) throw new Error("A sheet named '" + e.name + "' appeared while SheetDL was working; nothing of it was changed.");
            existing.delete();
          }
          var s = ctx.workbook.worksheets.add(e.name);
          if (e.tab_color) s.tabColor = "#" + e.tab_color;
        });
      }
      case "write_cells": {
        sheet = sheetOf(ctx, e.sheet);
        var n = e.values.length, m = e.values.reduce(function (w, r) { return Math.max(w, r.length); }, 0);
        if (!n || !m) return null;
        var values = e.values.map(function (r) {
          var out = r.map(cellIn);
          while (out.length < m) out.push("");
          return out;
        });
        var range = sheet.getRangeByIndexes(e.row - 1, e.col - 1, n, m);
        var first = e.bold_first_row ? 1 : 0;
        var formats = formatsFor(e, n, m, first);
        if (formats) {
          if (first) sheet.getRangeByIndexes(e.row, e.col - 1, n - 1, m).numberFormat = formats;
          else range.numberFormat = formats;
        }
        range.values = values;
        if (e.bold_first_row) sheet.getRangeByIndexes(e.row - 1, e.col - 1, 1, m).format.font.bold = true;
        return null;
      }
      case "format_range": {
        sheet = sheetOf(ctx, e.sheet);
        e.ref.split(",").forEach(function (ref) {
          var r = sheet.getRange(ref.trim()), f = r.format;
          if (e.number_format !== null && e.number_format !== undefined) r.numberFormat = fill2d(e.number_format, ref);
          if (e.bold !== null && e.bold !== undefined) f.font.bold = e.bold;
          if (e.italic !== null && e.italic !== undefined) f.font.italic = e.italic;
          if (e.font_size) f.font.size = e.font_size;
          if (e.font_color) f.font.color = "#" + e.font_color;
          if (e.fill) f.fill.color = "#" + e.fill;
          if (e.wrap !== null && e.wrap !== undefined) f.wrapText = e.wrap;
          if (e.horizontal) f.horizontalAlignment = e.horizontal.charAt(0).toUpperCase() + e.horizontal.slice(1);
          if (e.border_bottom) f.borders.getItem("EdgeBottom").style = "Continuous";
        });
        return null;
      }
      case "set_column_width":
        // Excel's character units → points (Calibri 11: about 7 px a character, 0.75 pt a pixel)
        sheetOf(ctx, e.sheet).getRangeByIndexes(0, e.col - 1, 1, 1).format.columnWidth = Math.round(e.width * 7 + 5) * 0.75;
        return null;
      case "set_row_height":
        sheetOf(ctx, e.sheet).getRangeByIndexes(e.row - 1, 0, 1, 1).format.rowHeight = e.height;
        return null;
      case "color_scale": {
        var cf = sheetOf(ctx, e.sheet).getRange(e.ref).conditionalFormats.add(Excel.ConditionalFormatType.colorScale);
        var crit = {
          minimum: { formula: null, type: Excel.ConditionalFormatColorCriterionType.lowestValue, color: "#" + e.min_color },
          maximum: { formula: null, type: Excel.ConditionalFormatColorCriterionType.highestValue, color: "#" + e.max_color }
        };
        if (e.mid_color) crit.midpoint = { formula: "50", type: Excel.ConditionalFormatColorCriterionType.percentile, color: "#" + e.mid_color };
        cf.colorScale.criteria = crit;
        return null;
      }
      case "add_chart":
        return addChart(ctx, e);
      case "add_picture":
        return addPicture(ctx, e);
      case "freeze_panes": {
        var m2 = /^([A-Z]+)(\d+)$/.exec(e.cell), rows = Number(m2[2]) - 1, cols = colIndex(m2[1]) - 1;
        var fp = sheetOf(ctx, e.sheet).freezePanes;
        if (rows && cols) fp.freezeAt(sheetOf(ctx, e.sheet).getRangeByIndexes(0, 0, rows, cols));
        else if (rows) fp.freezeRows(rows);
        else if (cols) fp.freezeColumns(cols);
        return null;
      }
      default:
        return null;  // an edit this pane does not know yet: leave the workbook alone
    }
  }

  /** Pictures need ExcelApi 1.10: worksheet.shapes came in 1.9, but a cell's position (range.left and
   * top, where the picture goes) only in 1.10. An older Excel gets the rest of the results and a note
   * saying how many pictures were left out. */
  function picturesSupported() {
    try { return Office.context.requirements.isSetSupported("ExcelApi", "1.10"); } catch (err) { return false; }
  }

  /** A PNG with its top-left corner on the anchor cell, sized in points (pixels × 0.75), moved but not
   * resized with the cells, with its alt text. The cell's position is read from Excel first. */
  /** @param {Excel.RequestContext} ctx @param {SheetEdit} e @returns {Promise<void> | null} */
  function addPicture(ctx, e) {
    if (!picturesSupported()) { state.skippedPictures += 1; return null; }
    var sheet = sheetOf(ctx, e.sheet);
    var cell = sheet.getRange(e.anchor);
    cell.load("left,top");
    return ctx.sync().then(function () {
      var shape = sheet.shapes.addImage(e.png);
      shape.lockAspectRatio = false;  // the edit gives both sides; a locked ratio would rescale one
      shape.left = cell.left;
      shape.top = cell.top;
      shape.width = e.width * POINTS_PER_PIXEL;
      shape.height = e.height * POINTS_PER_PIXEL;
      shape.lockAspectRatio = true;
      if (e.description) shape.altTextDescription = e.description;
      if (Office.context.requirements.isSetSupported("ExcelApi", "1.10")) shape.placement = Excel.Placement.oneCell;
    });
  }

  function fill2d(fmt, ref) {
    var parts = ref.split(":"), a = cellRC(parts[0]), b = cellRC(parts[1] || parts[0]);
    var rows = [];
    for (var r = a[0]; r <= b[0]; r++) {
      var row = [];
      for (var c = a[1]; c <= b[1]; c++) row.push(fmt);
      rows.push(row);
    }
    return rows;
  }

  function cellRC(a1) {
    var m = /^\$?([A-Z]+)\$?(\d+)$/.exec(a1.trim());
    return [Number(m[2]), colIndex(m[1])];
  }

  function colIndex(letters) {
    var n = 0;
    for (var i = 0; i < letters.length; i++) n = n * 26 + letters.charCodeAt(i) - 64;
    return n;
  }

  function formatsFor(e, n, m, first) {
    if (!e.number_formats || !e.number_formats.some(function (f) { return f; })) {
      return hasDates(e.values) ? e.values.slice(first).map(function (r) {
        return r.map(function (v) { return v && v.$date ? "yyyy-mm-dd" : v && v.$datetime ? "yyyy-mm-dd hh:mm" : "General"; });
      }) : null;
    }
    var out = [];
    for (var i = first; i < n; i++) {
      var row = [];
      for (var j = 0; j < m; j++) row.push(e.number_formats[j] || "General");
      out.push(row);
    }
    return out.length ? out : null;
  }

  function hasDates(values) {
    return values.some(function (r) { return r.some(function (v) { return v && typeof v === "object"; }); });
  }

  /** A value from the server → what Excel stores literally (text that looks like a formula or a number stays text). */
  function cellIn(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "object") {
      var iso = v.$date || v.$datetime || v.$time;
      if (v.$time) { var p = iso.split(":"); return (Number(p[0]) * 3600 + Number(p[1]) * 60 + Number(p[2] || 0)) / 86400; }
      var ms = Date.parse(iso.length === 10 ? iso + "T00:00:00Z" : iso + "Z");
      return ms / 86400000 + 25569;  // Excel's serial day number
    }
    if (typeof v === "string" && (/^[=+\-@]/.test(v) || /^\s*[\d$€£(.,%:\/\s-]+\)?\s*$/.test(v) || /^(true|false)$/i.test(v))) {
      return "'" + v;
    }
    return v;
  }

  /** @param {Excel.RequestContext} ctx @param {SheetEdit} e @returns {Promise<void>} */
  function addChart(ctx, e) {
    var sheet = sheetOf(ctx, e.sheet);
    var heads = e.series.map(function (ref) {
      var cell = sheet.getRange(ref.split(":")[0]);
      cell.load("values");
      return cell;
    });
    return ctx.sync().then(function () {
      var type = e.kind === "line" ? Excel.ChartType.line : Excel.ChartType.barClustered;
      var chart = sheet.charts.add(type, sheet.getRange(e.series[0]), Excel.ChartSeriesBy.columns);
      var first = chart.series.getItemAt(0);
      first.setXAxisValues(sheet.getRange(e.categories));
      e.series.slice(1).forEach(function (ref, k) {
        var parts = ref.split(":"), a = cellRC(parts[0]);
        var s = chart.series.add(String(heads[k + 1].values[0][0]));
        s.setValues(sheet.getRange(colLetter(a[1]) + (a[0] + 1) + ":" + parts[1]));
        s.setXAxisValues(sheet.getRange(e.categories));
      });
      chart.title.text = e.title;
      chart.legend.visible = !!e.legend;
      chart.setPosition(e.anchor);
      chart.width = e.width * 28.35;
      chart.height = e.height * 28.35;
      var cat = chart.axes.categoryAxis, val = chart.axes.valueAxis;
      if (e.x_title) { cat.title.text = e.x_title; }
      if (e.y_title) { val.title.text = e.y_title; }
      if (e.value_format && Office.context.requirements.isSetSupported("ExcelApi", "1.8")) val.numberFormat = e.value_format;
      if (e.reverse_categories) cat.reversePlotOrder = true;
      if (e.category_label_step) cat.tickLabelSpacing = e.category_label_step;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // the workbook's memory: an id naming its model on this computer, and the last target
  function settings() { return Office.context.document.settings; }
  function settingsGet(k) { try { return settings().get(k); } catch (e) { return null; } }
  function settingsSet(k, v) { try { settings().set(k, v); } catch (e) { /* read-only document */ } }
  /** @returns {Promise<void>} */
  function settingsSave() {
    return new Promise(/** @param {(value?: void) => void} resolve */ function (resolve) {
      try { settings().saveAsync(function () { resolve(); }); } catch (e) { resolve(); }
    });
  }

  function workbookId() {
    var id = settingsGet(SETTINGS_ID);
    if (!id || !/^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/.test(id)) {
      var bytes = new Uint8Array(12);
      crypto.getRandomValues(bytes);
      id = "wb-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      settingsSet(SETTINGS_ID, id);
    }
    return id;
  }

  function savedModel() {
    try { return JSON.parse(settingsGet(SETTINGS_MODEL) || "null"); } catch (e) { return null; }
  }

  function showPredictInfo() {
    var m = savedModel();
    button("predict").disabled = !m || state.busy;
    button("open-report").disabled = !state.reportSheet;
    if (m) {
      $("predict-info").textContent = "Fills '" + m.target + "' for the rows of the active sheet with the model trained on " +
        new Date(m.trained).toLocaleString() + ". The sheet needs the same columns the model learned from.";
      $("explain-info").textContent = state.lastSummary.length ? state.lastSummary.join(" ") :
        "The model predicts '" + m.target + "'. Its report sheet says how good it is and which columns mattered.";
    }
  }

  // ---------------------------------------------------------------------------------------------
  // display
  /** @param {string} id @returns {HTMLElement} */
  function $(id) { return document.getElementById(id); }
  /** One of the pane's buttons. @param {string} id @returns {HTMLButtonElement} */
  function button(id) { return /** @type {HTMLButtonElement} */ ($(id)); }
  /** What a field of the pane (an <input> or a <select>) holds. @param {string} id @returns {string} */
  function fieldValue(id) { return /** @type {HTMLInputElement | HTMLSelectElement} */ ($(id)).value; }

  function textLine(t) { var d = document.createElement("div"); d.textContent = t; return d; }

  // The pane never builds HTML from text: headers, cell values, sheet names and the server's messages
  // are the user's words and go into the page as text nodes (textContent), so '<b>' or '[kg]' shows
  // as written. tests/test_literal_text.py checks that no HTML-parsing property or call comes back.
  /** Remove every child of an element. */
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  /** An SVG element with these attributes and, if given, this text. */
  function svgEl(tag, attrs, text) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function setBusy(b) {
    state.busy = b;
    button("train").disabled = b || !state.schema;
    button("predict").disabled = b || !savedModel();
    button("cancel").disabled = !b;
    $("cancel").hidden = !b;
    button("refresh").disabled = b;
  }

  function progressText(detail, fraction, eta) {
    $("run-detail").textContent = detail;
    if (fraction !== null && fraction !== undefined) $("bar-fill").style.width = Math.round(fraction * 100) + "%";
    $("eta").textContent = eta || "";
  }

  function drawCurve() {
    var svg = $("curve"), W = 300, H = 120, L = 30, B = 16, T = 8, R = 8;
    var folds = Object.keys(state.curve);
    var pts = [].concat.apply([], folds.map(function (f) { return state.curve[f]; }));
    clear(svg);
    svg.appendChild(svgEl("line", { "class": "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    svg.appendChild(svgEl("line", { "class": "axis", x1: L, y1: T, x2: L, y2: H - B }));
    if (pts.length) {
      var maxE = Math.max.apply(null, pts.map(function (p) { return p[0]; }).concat([5]));
      var ys = pts.map(function (p) { return p[1]; });
      var lo = Math.min.apply(null, ys), hi = Math.max.apply(null, ys);
      if (lo >= 0 && hi <= 1) { lo = Math.max(0, Math.floor(lo * 10) / 10); hi = Math.min(1, Math.ceil(hi * 10) / 10); }
      if (hi - lo < 1e-9) { hi = lo + 1; }
      var x = function (e) { return L + (W - L - R) * (e - 1) / Math.max(1, maxE - 1); };
      var y = function (v) { return H - B - (H - B - T) * (v - lo) / (hi - lo); };
      folds.forEach(function (f, k) {
        var d = state.curve[f].map(function (p, i) { return (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); }).join(" ");
        svg.appendChild(svgEl("path", { "class": "line", stroke: COLORS[k % COLORS.length], d: d }));
      });
      var pct = lo >= 0 && hi <= 1;
      svg.appendChild(svgEl("text", { x: L - 3, y: T + 8, "text-anchor": "end" }, pct ? Math.round(hi * 100) + "%" : hi.toFixed(2)));
      svg.appendChild(svgEl("text", { x: L - 3, y: H - B, "text-anchor": "end" }, pct ? Math.round(lo * 100) + "%" : lo.toFixed(2)));
      svg.appendChild(svgEl("text", { x: W - R, y: H - 4, "text-anchor": "end" }, "epoch " + maxE));
      svg.appendChild(svgEl("text", { x: L, y: H - 4 }, "validation score by epoch, one line per fold"));
    } else {
      svg.appendChild(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "the training curve appears here"));
    }
  }

  function showResult(summary) {
    state.lastSummary = summary;
    $("run-title").textContent = "Finished";
    $("run-detail").textContent = "The results are in the workbook.";
    $("eta").textContent = "";
    var ul = $("summary");
    clear(ul);
    summary.forEach(function (s) { var li = document.createElement("li"); li.textContent = s; ul.appendChild(li); });
    $("result").hidden = false;
    showPredictInfo();
  }

  /** A message for the user, in the view it concerns (default: the one showing). */
  function showError(e, view) {
    var box = $("message");
    box.className = "message" + (e && e.cancelled ? " info" : "");
    box.textContent = (e && e.message) || String(e);
    if (e && e.hint) {
      var h = document.createElement("span");
      h.className = "hint"; h.textContent = e.hint;
      box.appendChild(h);
    }
    state.messageView = typeof view === "string" ? view : state.view;
    box.hidden = state.messageView !== state.view;
    $("run").hidden = true;
  }

  function hideMessage() { $("message").hidden = true; state.messageView = null; }

  function setView(view) {
    state.view = view;
    if (state.messageView) $("message").hidden = state.messageView !== view;
    ["train", "predict", "explain", "templates"].forEach(function (v) { $("view-" + v).hidden = v !== view; });
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (b) {
      b.classList.toggle("active", b.getAttribute("data-view") === view);
      b.setAttribute("aria-selected", b.getAttribute("data-view") === view);
    });
    showPredictInfo();
  }

  function openReport() {
    if (!state.reportSheet) return;
    Excel.run(function (ctx) { ctx.workbook.worksheets.getItem(state.reportSheet).activate(); return ctx.sync(); }).catch(showError);
  }

  // ---------------------------------------------------------------------------------------------
  // start: the ribbon's buttons (shared runtime) open the pane at their view
  function showAt(view) {
    return function (event) {
      setView(view);
      var shown = Office.addin && Office.addin.showAsTaskpane ? Office.addin.showAsTaskpane() : Promise.resolve();
      Promise.resolve(shown).then(function () { if (event && event.completed) event.completed(); });
    };
  }

  Office.onReady(function (info) {
    if (!info || info.host !== Office.HostType.Excel || typeof Excel === "undefined") {
      showError({ message: "This page is SheetDL's pane for Excel.",
                  hint: "Open it from the SheetDL tab on Excel's ribbon (see `sheetdl addin install`)." });
      checkServer();
      return;
    }
    if (Office.actions && Office.actions.associate) {
      Office.actions.associate("showTrain", showAt("train"));
      Office.actions.associate("showPredict", showAt("predict"));
      Office.actions.associate("showExplain", showAt("explain"));
      Office.actions.associate("showTemplates", showAt("templates"));
    }
    if (Office.addin && Office.addin.onVisibilityModeChanged) {
      // the shared runtime outlives a closed pane: when it opens again, read the (perhaps other) sheet
      Office.addin.onVisibilityModeChanged(function (args) {
        if (args && args.visibilityMode === "Taskpane" && !state.busy) refresh();
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (b) {
      b.addEventListener("click", function () { setView(b.getAttribute("data-view")); });
    });
    $("refresh").addEventListener("click", refresh);
    $("target").addEventListener("change", function () { loadSchema(fieldValue("target")).catch(showError); });
    $("train").addEventListener("click", function () { runJob("train"); });
    $("predict").addEventListener("click", function () { refresh().then(function () { runJob("predict"); }); });
    $("cancel").addEventListener("click", cancel);
    $("open-report").addEventListener("click", openReport);
    var view = (/[?&]view=(\w+)/.exec(location.search) || [])[1];
    setView(["train", "predict", "explain", "templates"].indexOf(view) >= 0 ? view : "train");
    drawCurve();
    checkServer();
    refresh();
  });

  window.SheetDLPane = {
    state: state, refresh: refresh, runJob: runJob, setView: setView, cellIn: cellIn,
    showResult: showResult, showError: showError,
    /** fetch a finished job's edits and write them into the workbook (what Train does after its run) */
    applyResults: function (jobId, pages) { return applyAll(jobId, { pages: pages }); }
  };
})();
