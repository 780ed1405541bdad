//! The inline CSS and JavaScript of the HTML report (sorting, filtering, tooltips, legend
//! toggles), kept apart from the markup that `html` writes.

/// The report's stylesheet.
pub(super) const STYLE: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #dde1e6;padding-bottom:4px}
.note{color:#5a6473;margin:0 0 8px}.charts{display:flex;flex-wrap:wrap;gap:12px}figure.chart-box{margin:0}
svg.chart{background:#fff;border:1px solid #e3e6ea;border-radius:6px}
svg .title{font-weight:600;font-size:13px;fill:#1d2430}svg .tick{font-size:11px;fill:#5a6473}svg .axis{font-size:12px;fill:#1d2430}
svg .grid{stroke:#eef0f3}svg .frame{fill:none;stroke:#c5cbd3}
svg .series polyline{fill:none;stroke:var(--c);stroke-width:2}svg .series .line{stroke-width:1.5}
svg .pt{fill:var(--c);stroke:#fff;stroke-width:1}svg .pt.frontier{stroke:#1d2430;stroke-width:1.2}
svg .pt.dominated{fill-opacity:.35;stroke:none}svg .pt:hover{stroke:#000;stroke-width:2}
.series.off{display:none}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;margin:6px 0 10px;padding:0;list-style:none}
.legend li{cursor:pointer;user-select:none}.legend li.off{opacity:.35}
.legend .sw{display:inline-block;width:14px;height:4px;margin-right:5px;vertical-align:middle;background:var(--c)}
.legend .key{color:#5a6473}
#tip{position:fixed;pointer-events:none;background:#1d2430;color:#fff;padding:6px 8px;border-radius:4px;font-size:12px;white-space:pre;max-width:640px;z-index:10}
table.records{border-collapse:collapse;font-size:12px;margin-top:8px}
table.records th,table.records td{border:1px solid #e3e6ea;padding:3px 6px;text-align:right;white-space:nowrap}
table.records td.t,table.records th.t{text-align:left}
table.records th{background:#f5f6f8;cursor:pointer;position:sticky;top:0}
table.records th.asc::after{content:" \25B2"}table.records th.desc::after{content:" \25BC"}
div.table-wrap{overflow:auto;max-height:80vh}
#filter{padding:4px 8px;width:320px;font:inherit}
"#;

/// The report's script: tooltips, legend toggles, table sort and filter.
pub(super) const SCRIPT: &str = r#"
(function(){
  var tip=document.getElementById('tip');
  document.addEventListener('mouseover',function(e){
    var t=e.target.closest?e.target.closest('[data-tip]'):null;
    if(!t){tip.hidden=true;return;}
    tip.textContent=t.getAttribute('data-tip');tip.hidden=false;
  });
  document.addEventListener('mousemove',function(e){
    if(tip.hidden)return;
    var x=e.clientX+14,y=e.clientY+14,r=tip.getBoundingClientRect();
    if(x+r.width>innerWidth)x=e.clientX-r.width-14;
    if(y+r.height>innerHeight)y=e.clientY-r.height-14;
    tip.style.left=x+'px';tip.style.top=y+'px';
  });
  document.querySelectorAll('.legend li').forEach(function(li){
    li.addEventListener('click',function(){
      li.classList.toggle('off');
      var section=li.closest('section'),name=li.getAttribute('data-series');
      section.querySelectorAll('g.series').forEach(function(g){
        if(g.getAttribute('data-series')===name)g.classList.toggle('off',li.classList.contains('off'));
      });
    });
  });
  var table=document.querySelector('table.records');
  if(!table)return;
  var body=table.tBodies[0],count=document.getElementById('count');
  table.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(asc?'asc':'desc');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v'),c;
        if(x!==null&&y!==null){c=parseFloat(x)-parseFloat(y);}
        else{c=a.cells[i].textContent.localeCompare(b.cells[i].textContent,undefined,{numeric:true});}
        return asc?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  document.getElementById('filter').addEventListener('input',function(e){
    var terms=e.target.value.toLowerCase().split(/\s+/).filter(Boolean),shown=0;
    Array.prototype.forEach.call(body.rows,function(r){
      var text=r.textContent.toLowerCase();
      r.hidden=!terms.every(function(t){return text.indexOf(t)>=0;});
      if(!r.hidden)shown++;
    });
    count.textContent=shown+' of '+body.rows.length+' records';
  });
})();
"#;
