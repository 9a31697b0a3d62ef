/* site: a tiny stand-in for a vendored library */
if (typeof window.Mozilla === 'undefined') {
    window.Mozilla = {};
}
window.site = window.site || {
    version: '2.0.0',
    ready: function (fn) {
        if (document.readyState !== 'loading') {
            fn();
        } else {
            document.addEventListener('DOMContentLoaded', fn);
        }
    }
};
