/* Mozilla.Client: a tiny stand-in for a vendored library */
if (typeof window.Mozilla === 'undefined') {
    window.Mozilla = {};
}
window.Mozilla.Client = window.Mozilla.Client || {
    version: '3.0.1',
    ready: function (fn) {
        if (document.readyState !== 'loading') {
            fn();
        } else {
            document.addEventListener('DOMContentLoaded', fn);
        }
    }
};
