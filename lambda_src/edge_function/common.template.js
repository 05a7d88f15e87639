const COOKIE = 'edge-variant';

// One key, one read per request (KeyValueStore reads are billed per read).
async function settings() {
    let routing = {};
    try {
        routing = await kvs.get('routing', { format: 'json' });
    } catch (err) {
        // a missing key is "no routing", never a failed request
    }
    return {
        countries: routing.countries || {},
        variants: routing.variants || [],
        tracking: routing.tracking || [],
        fallback: routing.fallback || '',
    };
}

function findVariant(variants, name) {
    for (let i = 0; i < variants.length; i++) {
        if (variants[i].name === name) {
            return variants[i];
        }
    }
    return null;
}

// A hash of the request id as a number in [0, 100): the same id always draws the same variant.
function draw(id) {
    let h = 7;
    for (let i = 0; i < id.length; i++) {
        h = (h * 31 + id.charCodeAt(i)) % 2147483647;
    }
    return (h % 10000) / 100;
}

function chooseVariant(variants, cookies, requestId) {
    if (!variants.length) {
        return null;
    }
    const kept = cookies[COOKIE] ? findVariant(variants, cookies[COOKIE].value) : null;
    if (kept) {
        return kept;
    }
    let point = draw(requestId || '');
    for (let i = 0; i < variants.length; i++) {
        if (point < variants[i].weight) {
            return variants[i];
        }
        point -= variants[i].weight;
    }
    return variants[variants.length - 1];
}
