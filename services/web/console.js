// mlpipe model console (GET / on the registry).  Plain JavaScript over the
// registry's own JSON API: which optional endpoints exist (aliases,
// history, trials, importance, monitoring) is read from /openapi.json, so
// the page shows what this registry serves.  Chart.js draws the plots.
// Changing calls send the token typed in the header (kept in this tab's
// sessionStorage only).
'use strict';

const $ = (id) => document.getElementById(id);
const state = {paths: {}, models: [], model: null, infos: [], version: null, charts: {}};

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null)
		e.textContent = String(text);
	if (cls)
		e.className = cls;
	return e;
}

const enc = encodeURIComponent;

async function api(path, options = {}) {
	const headers = Object.assign({}, options.headers || {});
	const token = $('token').value.trim();
	if (token && options.method && options.method !== 'GET')
		headers.Authorization = 'Bearer ' + token;
	const r = await fetch(path, Object.assign({}, options, {headers}));
	let body = null;
	try {
		body = await r.json();
	} catch (e) {
		body = null;
	}
	if (!r.ok) {
		const d = body && body.detail;
		const msg = typeof d === 'string' ? d : Array.isArray(d) ? d.map((x) => x.msg).join('; ') : r.statusText;
		throw Object.assign(new Error(`${r.status}: ${msg}`), {status: r.status});
	}
	return body;
}

const has = (template, method = 'get') => Boolean(state.paths[template] && state.paths[template][method]);

function chart(id, config) {
	if (state.charts[id])
		state.charts[id].destroy();
	state.charts[id] = new Chart($(id), config);
}

function fmt(x, digits = 2) {
	return typeof x === 'number' ? x.toFixed(digits) : '';
}

function metric(info, key) {
	const m = info.additional_metadata || {};
	return typeof m[key] === 'number' ? m[key] : (m.metrics && typeof m.metrics[key] === 'number' ? m.metrics[key] : null);
}

async function loadModels() {
	const list = await api('list_models');
	state.models = list;
	const ul = $('models');
	ul.replaceChildren();
	for (const m of list) {
		const li = el('li', m.model_name);
		li.dataset.name = m.model_name;
		li.append(el('span', m.versions.length, 'count'));
		li.addEventListener('click', () => selectModel(m.model_name));
		ul.append(li);
	}
	$('status').textContent = list.length ? '' : 'No models registered yet.';
	return list;
}

async function selectModel(name) {
	delete document.body.dataset.model;
	state.model = state.models.find((m) => m.model_name === name);
	for (const li of $('models').children)
		li.classList.toggle('selected', li.dataset.name === name);
	$('model').hidden = false;
	$('model-name').textContent = name;
	state.infos = await Promise.all(state.model.versions.map(
		(v) => api(`get_model_info/${enc(name)}/${enc(v)}`)));
	const aliases = has('/models/{name}/aliases') ? await loadAliases() : [];
	renderVersions(aliases);
	renderRmse();
	await selectVersion(state.model.versions[state.model.versions.length - 1]);
	await loadTrials();
	document.body.dataset.model = name;	// drawn: what the browser test waits for
}

function renderVersions(aliases) {
	const tbody = $('versions').tBodies[0];
	tbody.replaceChildren();
	for (const info of state.infos) {
		const tr = el('tr');
		tr.dataset.version = info.version;
		const tags = el('td');
		for (const a of aliases.filter((x) => x.version === info.version))
			tags.append(el('span', a.alias, 'tag'));
		tr.append(el('td', info.version), el('td', info.algorithm), tags,
			el('td', fmt(metric(info, 'rmse_test'))), el('td', fmt(metric(info, 'rmse_train'))),
			el('td', metric(info, 'rows_train') ?? ''), el('td', (info.created_at || '').slice(0, 19)));
		tr.addEventListener('click', () => selectVersion(info.version));
		tbody.append(tr);
	}
	const sel = $('alias-version');
	sel.replaceChildren(...state.infos.map((i) => el('option', i.version)));
}

function renderRmse() {
	const labels = state.infos.map((i) => i.version);
	chart('rmse-chart', {
		type: 'line',
		data: {labels, datasets: [
			{label: 'RMSE test', data: state.infos.map((i) => metric(i, 'rmse_test')), borderColor: '#2f6fdf'},
			{label: 'RMSE train', data: state.infos.map((i) => metric(i, 'rmse_train')), borderColor: '#9aa6b8'},
		]},
		options: {animation: false, scales: {y: {title: {display: true, text: 'RMSE'}}, x: {title: {display: true, text: 'version'}}}},
	});
}

async function selectVersion(version) {
	state.version = version;
	for (const tr of $('versions').tBodies[0].rows)
		tr.classList.toggle('selected', tr.dataset.version === version);
	$('importance-version').textContent = `(version ${version})`;
	if (!has('/models/{name}/versions/{version}/importance'))
		return;
	try {
		const imp = await api(`models/${enc(state.model.model_name)}/versions/${enc(version)}/importance`);
		const top = imp.features.slice(0, 19);
		$('importance-kind').textContent = imp.kind === 'gain'
			? 'average gain per split, from the trees\' loss_changes' : 'absolute weight (linear model)';
		chart('importance-chart', {
			type: 'bar',
			data: {labels: top.map((f) => f.feature), datasets: [{label: imp.kind, data: top.map((f) => f.importance), backgroundColor: '#2f6fdf'}]},
			options: {indexAxis: 'y', animation: false, plugins: {legend: {display: false}}},
		});
	} catch (e) {
		$('importance-kind').textContent = e.message;
	}
}

async function loadAliases() {
	$('aliases-card').hidden = false;
	const name = state.model.model_name;
	const {aliases} = await api(`models/${enc(name)}/aliases`);
	const tbody = $('aliases').tBodies[0];
	tbody.replaceChildren();
	for (const a of aliases) {
		const tr = el('tr');
		const td = el('td');
		if (has('/models/{name}/aliases/{alias}/rollback', 'post')) {
			const b = el('button', 'Roll back');
			b.type = 'button';
			b.addEventListener('click', () => change(`models/${enc(name)}/aliases/${enc(a.alias)}/rollback`, 'POST'));
			td.append(b);
		}
		tr.append(el('td', a.alias), el('td', a.version), td);
		tbody.append(tr);
	}
	const ol = $('history');
	ol.replaceChildren();
	if (has('/models/{name}/history')) {
		const {history} = await api(`models/${enc(name)}/history`);
		for (const h of history.slice(0, 20))
			ol.append(el('li', `${(h.changed_at || '').slice(0, 19)} ${h.alias}: ${h.event} ` +
				`${h.from_version ?? '—'} → ${h.to_version ?? '—'} (${h.changed_by || ''})`));
	}
	return aliases;
}

async function change(path, method, body) {
	const msg = $('alias-message');
	try {
		await api(path, {method, headers: {'Content-Type': 'application/json'}, body: body ? JSON.stringify(body) : undefined});
		msg.className = 'muted';
		msg.textContent = 'Done.';
		await selectModel(state.model.model_name);
	} catch (e) {
		msg.className = 'error';
		msg.textContent = e.status === 401 ? 'The registry needs its API token for changes: type it at the top.' : e.message;
	}
}

async function loadTrials() {
	if (!has('/models/{name}/trials'))
		return;
	let trials = [];
	try {
		trials = (await api(`models/${enc(state.model.model_name)}/trials`)).trials;
	} catch (e) {
		trials = [];
	}
	$('trials-card').hidden = trials.length === 0;
	if (!trials.length)
		return;
	const runs = [...new Set(trials.map((t) => t.run_id))];
	chart('trials-chart', {
		type: 'scatter',
		data: {datasets: runs.map((run) => ({
			label: `run ${run} (version ${trials.find((t) => t.run_id === run).version})`,
			data: trials.filter((t) => t.run_id === run && typeof t.cv_rmse === 'number').map((t) => ({x: t.trial, y: t.cv_rmse})),
		}))},
		options: {animation: false, scales: {x: {title: {display: true, text: 'trial'}}, y: {title: {display: true, text: 'CV RMSE'}}}},
	});
	const best = trials.filter((t) => typeof t.cv_rmse === 'number').sort((a, b) => a.cv_rmse - b.cv_rmse)[0];
	$('trials-best').textContent = best ? `best CV RMSE ${fmt(best.cv_rmse)}: ${JSON.stringify(best.params)}` : '';
}

async function main() {
	const token = $('token');
	token.value = sessionStorage.getItem('mlpipe-token') || '';
	token.addEventListener('change', () => sessionStorage.setItem('mlpipe-token', token.value));
	$('alias-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const alias = $('alias-name').value.trim();
		change(`models/${enc(state.model.model_name)}/aliases/${enc(alias)}`, 'PUT', {version: $('alias-version').value});
	});
	try {
		state.paths = (await api('openapi.json')).paths;
		const list = await loadModels();
		if (list.length)
			await selectModel(list[0].model_name);
	} catch (e) {
		$('status').className = 'error';
		$('status').textContent = e.message;
	}
}

main();
