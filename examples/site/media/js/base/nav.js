/* The menu button of small screens: opens and closes the main navigation. */
(function (document) {
    'use strict';

    var toggle = document.querySelector('.nav-toggle');
    var nav = document.getElementById('site-nav');
    if (!toggle || !nav) {
        return;
    }
    toggle.addEventListener('click', function () {
        var open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        if (open) {
            nav.setAttribute('data-open', '');
        } else {
            nav.removeAttribute('data-open');
        }
    });
})(document);
