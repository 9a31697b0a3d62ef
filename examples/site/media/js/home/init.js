/* The home page: a class on <html> saying scripts run. */
(function (window, document) {
    'use strict';

    document.documentElement.className += ' js';
    window.Mozilla = window.Mozilla || {};
    window.Mozilla.HomeInit = { ready: true };
})(window, document);
